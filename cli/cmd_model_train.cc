// `sccello train` and `sccello embed`: fill TrainRequest / EmbedRequest from flags and run them.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "cli/cli_context.h"
#include "cli/progress.h"
#include "model/distributed_launch.h"
#include "model/embed.h"
#include "model/train_eval.h"
#include "model/trainer.h"

namespace sccello {
namespace {

struct TrainArgs {
  std::string config, datasets, target, losses, weights, out = "sccello-run", resume, device = "cpu";
  int64_t steps = 0, epochs = 0, seed = 0, batch_size = 0, grad_accum = 0, max_len = 0, log_every = 0,
          checkpoint_every = 0, keep_last = 0, warmup = 0, max_cells = 0;
  double val_fraction = 0;
  double lr = 0;
  bool bf16 = false;
  TrainEvalOptions eval;  // --eval-every/--eval-data/--eval-label-column/--eval-cells
  int nproc = 1;          // --nproc: local workers to start
  // Model size (override the config's "model" section): --layers --hidden --heads --ffn
  // --max-positions --dropout.
  int64_t layers = 0, hidden = 0, heads = 0, ffn = 0, max_positions = 0;
  double dropout = 0;
  bool save_init = false;  // --save-init: OUT/init.ckpt, the untrained floor
  DistributedOptions distributed;  // --dist-backend, --dist-timeout, --global-negatives
};

// "mgp=1,intra=0.5,..." -> weights.
Status apply_weights(const std::string& spec, LossConfig* l) {
  for (const std::string& item : split_list(spec)) {
    auto eq = item.find('=');
    if (eq == std::string::npos) return Status::invalid("--loss-weights: expected name=value, got '" + item + "'");
    std::string name = item.substr(0, eq);
    double w = std::atof(item.c_str() + eq + 1);
    if (name == "mgp") l->mgp_weight = w;
    else if (name == "intra") l->intra_weight = w;
    else if (name == "inter") l->inter_weight = w;
    else if (name == "reg") l->reg_weight = w;
    else return Status::invalid("--loss-weights: unknown loss '" + name + "' (mgp, intra, inter, reg)");
  }
  return Status::ok();
}

// Options that set the run's configuration. A resumed run continues the checkpoint's plan
// exactly (steps, schedule, data order), so these are refused together with --resume.
const char* const kConfigOptions[] = {"--config", "--datasets", "--target", "--losses", "--loss-weights",
                                      "--steps", "--epochs", "--seed", "--batch-size", "--grad-accum",
                                      "--max-len", "--lr", "--warmup", "--log-every", "--checkpoint-every",
                                      "--keep-last", "--max-cells", "--val-fraction", "--bf16",
                                      "--layers", "--hidden", "--heads", "--ffn", "--max-positions",
                                      "--dropout", "--save-init"};

// The output directory a resumed run continues in when --out is not given: the directory named, or
// for a checkpoint file OUT/checkpoints/step-N.ckpt, OUT (a lone file elsewhere: its folder).
std::string run_directory_of(const std::string& resume) {
  const std::filesystem::path p(resume);
  std::error_code ec;
  if (std::filesystem::is_directory(p, ec)) return p.string();
  std::filesystem::path dir = p.parent_path();
  if (dir.filename() == "checkpoints") dir = dir.parent_path();
  return dir.empty() ? std::string(".") : dir.string();
}

Status check_resume_options(const CLI::App& cmd) {
  std::string given;
  for (const char* name : kConfigOptions)
    if (cmd.count(name)) given += (given.empty() ? "" : ", ") + std::string(name);
  if (given.empty()) return Status::ok();
  return Status::invalid("--resume continues the checkpoint's run with its own configuration; " + given +
                         " cannot change on resume (the step plan, learning-rate schedule and data order would no "
                         "longer match). Drop them, or start a new run with --out elsewhere");
}

Result<RunConfig> build_config(const TrainArgs& a, const CliContext& ctx, const CLI::App& cmd) {
  if (cmd.count("--steps") && a.steps < 1 && !(a.steps == 0 && a.save_init))
    return Status::invalid("--steps must be at least 1, not " + std::to_string(a.steps) +
                           " (leave it out to train for --epochs epochs; --steps 0 --save-init writes only the "
                           "untrained model)");
  if (cmd.count("--epochs") && a.epochs < 1)
    return Status::invalid("--epochs must be at least 1, not " + std::to_string(a.epochs));
  RunConfig c;
  if (!a.config.empty()) {
    SCCELLO_ASSIGN_OR_RETURN(c, load_run_config(a.config));
  }
  TrainConfig& t = c.train;
  if (!a.datasets.empty()) t.datasets = split_list(a.datasets);
  if (!ctx.release.empty()) t.release = ctx.release;
  if (!a.target.empty()) t.target = a.target;
  if (!a.losses.empty()) SCCELLO_RETURN_IF_ERROR(t.losses.set_enabled(a.losses));
  SCCELLO_RETURN_IF_ERROR(apply_weights(a.weights, &t.losses));
  if (cmd.count("--steps")) t.steps = a.steps;
  if (cmd.count("--epochs")) t.epochs = a.epochs, t.steps = cmd.count("--steps") ? a.steps : 0;
  if (cmd.count("--seed")) t.seed = a.seed;
  if (cmd.count("--batch-size")) t.batch_size = a.batch_size;
  if (cmd.count("--grad-accum")) t.grad_accum = a.grad_accum;
  if (cmd.count("--max-len")) t.max_len = a.max_len;
  if (cmd.count("--log-every")) t.log_every = a.log_every;
  if (cmd.count("--checkpoint-every")) t.checkpoint_every = a.checkpoint_every;
  if (cmd.count("--keep-last")) t.keep_last = a.keep_last;
  if (cmd.count("--warmup")) t.warmup_steps = a.warmup;
  if (cmd.count("--lr")) t.lr = a.lr;
  if (cmd.count("--max-cells")) t.max_cells = a.max_cells;
  if (cmd.count("--val-fraction")) t.val_fraction = a.val_fraction;
  if (a.bf16) t.bf16 = true;
  ModelConfig& m = c.model;
  if (cmd.count("--layers")) m.layers = a.layers;
  if (cmd.count("--hidden")) m.hidden = a.hidden;
  if (cmd.count("--heads")) m.heads = a.heads;
  if (cmd.count("--ffn")) m.ffn = a.ffn;
  if (cmd.count("--dropout")) m.dropout = m.attention_dropout = a.dropout;
  if (cmd.count("--max-positions")) m.max_positions = a.max_positions;
  // A longer --max-len than the position table holds grows the table (unless it was given).
  if (cmd.count("--max-len") && !cmd.count("--max-positions") && t.max_len > m.max_positions) m.max_positions = t.max_len;
  if (a.steps == 0 && a.save_init) t.steps = 1;  // the plan is never run: init_only stops before step 1
  SCCELLO_RETURN_IF_ERROR(validate(c));
  return c;
}

// The coherence head (the prototypes) is trained by the intra/inter losses only: n/a without them.
std::string coherence_text(const TrainSummary& s, double accuracy) {
  const bool trained = s.losses.find("intra") != std::string::npos || s.losses.find("inter") != std::string::npos;
  if (!trained) return "n/a (no intra/inter loss)";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", accuracy);
  return buf;
}

void print_summary(const TrainSummary& s) {
  std::printf("trained %lld/%lld steps on %lld cells (validation %lld), label space %lld terms (release %s), "
              "%lld unmapped cells, %lld migrated\n",
              (long long)s.steps_done, (long long)s.total_steps, (long long)s.train_cells, (long long)s.val_cells,
              (long long)s.label_space, s.release.c_str(), (long long)s.unmapped_cells, (long long)s.migrated_cells);
  if (!s.target.empty()) std::printf("targets: %s\n", s.target.c_str());
  if (!s.curve.empty()) {
    std::printf("loss curve:");
    const size_t points = std::min<size_t>(8, s.curve.size());
    for (size_t k = 0; k < points; ++k) {
      const TrainMetrics& m = s.curve[k * (s.curve.size() - 1) / std::max<size_t>(1, points - 1)];
      std::printf(" %lld:%.3f", (long long)m.step, m.loss);
    }
    std::printf("\n");
    const TrainMetrics &first = s.curve.front(), &last = s.curve.back();
    std::printf("loss: step %lld %.4f -> step %lld %.4f (mgp %.3f -> %.3f, intra %.3f -> %.3f, inter %.3f -> %.3f)\n",
                (long long)first.step, first.loss, (long long)last.step, last.loss, first.mgp, last.mgp, first.intra,
                last.intra, first.inter, last.inter);
    std::printf("train accuracy at the end: mgp %.3f, coherence %s; %.1f cells/s\n", last.mgp_acc,
                coherence_text(s, last.coherence_acc).c_str(), last.cells_per_s);
  }
  if (s.val_cells > 0 && s.steps_done > 0)
    std::printf("validation: mgp loss %.4f, mgp accuracy %.3f, coherence accuracy %s\n", s.validation.mgp,
                s.validation.mgp_acc, coherence_text(s, s.validation.coherence_acc).c_str());
  if (!s.init_checkpoint.empty()) std::printf("untrained model: %s\n", s.init_checkpoint.c_str());
  if (!s.last_checkpoint.empty()) std::printf("checkpoint: %s\n", s.last_checkpoint.c_str());
}

// `--nproc N`: this process becomes the launcher of N workers running the same command.
int launch_local_workers(const TrainArgs& a) {
  if (std::getenv("RANK") || std::getenv("WORLD_SIZE"))
    return report_error(Status::invalid("--nproc inside a launched worker (RANK/WORLD_SIZE are set): start the "
                                        "workers either with --nproc or with torchrun, not both"));
  LocalLaunchOptions o;
  o.nproc = a.nproc;
  o.argv = strip_option(own_command_line(), "--nproc");
  return run_local_workers(o);
}

void print_parallel_summary(const TrainSummary& s) {
  if (s.world_size <= 1) return;
  const double steps = std::max<int64_t>(1, s.steps_done);
  std::printf("data-parallel: %d ranks, %.2f MB all-reduced per step, %.1f ms per step blocked on it "
              "(%.1f%% of %.1f ms per step)\n",
              s.world_size, s.allreduce_bytes_per_step / 1e6, 1e3 * s.allreduce_wait_seconds / steps,
              s.train_seconds > 0 ? 100.0 * s.allreduce_wait_seconds / s.train_seconds : 0.0,
              1e3 * s.train_seconds / steps);
}

int run_train(CliContext& ctx, const TrainArgs& a, const CLI::App& cmd) {
  if (Status device = check_device(a.device); !device.is_ok()) return report_error(device);
  if (a.nproc > 1) return launch_local_workers(a);
  auto launch = launch_env_from_environment();
  if (!launch) return report_error(launch.status());
  if (a.distributed.global_negatives && !launch->distributed())
    std::cerr << "note: --global-negatives has no effect in a single process\n";
  TrainRequest request;
  request.launch = *launch;
  request.distributed = a.distributed;
  const bool main_rank = launch->rank == 0;
  if (!a.resume.empty()) {
    if (Status st = check_resume_options(cmd); !st.is_ok()) return report_error(st);
  } else {
    auto config = build_config(a, ctx, cmd);
    if (!config) return report_error(config.status());
    request.config = *config;
  }
  request.out_dir = (!a.resume.empty() && !cmd.count("--out")) ? run_directory_of(a.resume) : a.out;
  request.save_init = a.save_init;
  request.init_only = a.save_init && cmd.count("--steps") && a.steps == 0;
  request.resume = a.resume;
  request.resume_release = ctx.release;
  request.device = a.device;
  request.threads = ctx.threads;
  request.progress = main_rank && isatty(STDERR_FILENO);
  request.log = [main_rank](const std::string& line) {
    if (main_rank) std::cerr << line << std::endl;
  };
  if (a.eval.data.empty() && (a.eval.every > 0 || !a.eval.label_column.empty()))
    return report_error(Status::invalid("--eval-every/--eval-label-column need --eval-data FILE.h5ad"));
  if (!a.eval.data.empty()) {
    TrainEvalOptions eval = a.eval;
    eval.threads = ctx.threads;
    eval.max_len = request.config.train.max_len;
    if (Status s = install_train_eval(eval, &request); !s.is_ok()) return report_error(s);
  }
  // Writable for the target cache; a store another process is writing is read without the cache.
  // Ranks > 0 only read (rank 0 may hold the writer lock).
  bool read_only = !main_rank;
  auto store = main_rank ? ctx.open_store_for_cache(&read_only) : ctx.open_store(false);
  if (read_only && main_rank)
    std::cerr << "note: the store is locked by another writer; training without the persistent target cache\n";
  if (!store) return report_error(store.status());
  auto summary = train_model(**store, request);
  if (!summary) return report_error(summary.status());
  if (!main_rank) return 0;
  print_summary(*summary);
  print_parallel_summary(*summary);
  return 0;
}

void add_train(CLI::App& app, CliContext& ctx) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "pre-train a scCello model on corpus datasets");
  cmd->add_option("--config", args->config, "JSON config {\"model\":{...},\"train\":{...}} (model/configs/)");
  cmd->add_option("--datasets", args->datasets, "corpus datasets, comma-separated");
  cmd->add_option("--target", args->target, "target provider spec, e.g. ppr:alpha=0.9");
  cmd->add_option("--losses", args->losses, "loss terms to use: any of mgp,intra,inter,reg");
  cmd->add_option("--loss-weights", args->weights, "e.g. mgp=1,inter=0.5");
  cmd->add_option("--steps", args->steps, "optimiser steps, >= 1 (default: the config's, else 3 epochs; 0 only with --save-init)");
  cmd->add_option("--epochs", args->epochs, "epochs, >= 1 (when --steps is not given)");
  cmd->add_option("--out", args->out, "output directory (checkpoints/, metrics.jsonl; with --resume: the resumed run's)")->capture_default_str();
  cmd->add_option("--resume", args->resume,
                  "continue from a checkpoint file or an output directory, with the checkpoint's configuration "
                  "(configuration options are refused)");
  cmd->add_option("--device", args->device, "cpu | cuda")->capture_default_str();
  cmd->add_option("--seed", args->seed, "random seed");
  cmd->add_option("--batch-size", args->batch_size, "cells per micro-batch");
  cmd->add_option("--grad-accum", args->grad_accum, "micro-batches per step");
  cmd->add_option("--max-len", args->max_len, "tokens per cell");
  cmd->add_option("--lr", args->lr, "peak learning rate");
  cmd->add_option("--warmup", args->warmup, "warmup steps");
  cmd->add_option("--log-every", args->log_every, "steps between metric lines");
  cmd->add_option("--checkpoint-every", args->checkpoint_every, "steps between checkpoints");
  cmd->add_option("--keep-last", args->keep_last, "checkpoints kept");
  cmd->add_option("--max-cells", args->max_cells, "first N cells of each dataset only");
  cmd->add_option("--val-fraction", args->val_fraction, "cells held out for validation");
  cmd->add_flag("--bf16", args->bf16, "bf16 autocast");
  cmd->add_option("--layers", args->layers, "transformer layers (overrides the config)")->check(CLI::Range(1, 64));
  cmd->add_option("--hidden", args->hidden, "hidden size (divisible by --heads)")->check(CLI::Range(8, 8192));
  cmd->add_option("--heads", args->heads, "attention heads")->check(CLI::Range(1, 128));
  cmd->add_option("--ffn", args->ffn, "feed-forward size")->check(CLI::Range(8, 65536));
  cmd->add_option("--max-positions", args->max_positions,
                  "position table size (default: the config's; grown to --max-len when that is longer)")
      ->check(CLI::Range(2, 65536));
  cmd->add_option("--dropout", args->dropout, "hidden and attention dropout")->check(CLI::Range(0.0, 0.9));
  cmd->add_flag("--save-init", args->save_init,
                "also write the untrained model to OUT/init.ckpt (the floor; --steps 0 --save-init writes only it)");
  cmd->add_option("--nproc", args->nproc,
                  "data-parallel: start N local worker processes (or launch with torchrun: RANK, WORLD_SIZE, "
                  "MASTER_ADDR, MASTER_PORT; docs/distributed.md)")
      ->capture_default_str();
  cmd->add_option("--dist-backend", args->distributed.backend, "auto (gloo on cpu, nccl on cuda) | gloo | nccl")
      ->capture_default_str();
  cmd->add_option("--dist-timeout", args->distributed.timeout_seconds,
                  "seconds the rendezvous and each collective may wait for the other ranks")
      ->capture_default_str();
  cmd->add_flag("--global-negatives", args->distributed.global_negatives,
                "data-parallel: the ontology alignment loss sees the cells of all ranks (all-gather)");
  cmd->add_option("--eval-every", args->eval.every, "steps between train-time clustering evaluations");
  cmd->add_option("--eval-data", args->eval.data, "labelled .h5ad for train-time evaluation (metrics.jsonl type eval)");
  cmd->add_option("--eval-label-column", args->eval.label_column, "label column of --eval-data");
  cmd->add_option("--eval-cells", args->eval.cells, "cells sampled from --eval-data")->capture_default_str();
  cmd->callback([&ctx, args, cmd] { ctx.action = [&ctx, args, cmd] { return run_train(ctx, *args, *cmd); }; });
}

struct EmbedArgs {
  EmbedRequest request;
  bool no_store = false;
  std::string total = "vocab";
  std::string readout = "cls-head";
};

int run_embed(CliContext& ctx, EmbedArgs& a) {
  if (a.total != "vocab" && a.total != "all") return report_error(Status::invalid("--total must be vocab or all"));
  a.request.import.tokenizer.total_over_all_genes = a.total == "all";
  auto readout = parse_cell_readout(a.readout);
  if (!readout) return report_error(readout.status());
  a.request.options.readout = *readout;
  a.request.threads = ctx.threads;
  a.request.release = ctx.release;
  a.request.options.progress = terminal_progress("embedded");
  a.request.log = [](const std::string& line) { std::cerr << line << "\n"; };
  std::unique_ptr<Store> store;
  if (!a.request.dataset.empty() || !a.no_store) {
    auto opened = ctx.open_store(false);
    if (!opened && !a.request.dataset.empty()) return report_error(opened.status());
    if (opened) store = std::move(*opened);
  }
  auto summary = embed_to_file(store.get(), a.request);
  if (!summary) return report_error(summary.status());
  for (const auto& note : summary->migrated_labels) std::fprintf(stderr, "label migrated: %s\n", note.c_str());
  std::printf("embedded %lld cells (%lld dims) in %.2fs (%.1f cells/s) -> %s\n", (long long)summary->cells,
              (long long)summary->dims, summary->seconds, summary->seconds > 0 ? summary->cells / summary->seconds : 0.0,
              a.request.out.c_str());
  return 0;
}

void add_embed(CLI::App& app, CliContext& ctx) {
  auto args = std::make_shared<EmbedArgs>();
  CLI::App* cmd = app.add_subcommand("embed", "cell embeddings from a trained checkpoint (.h5ad or .tsv)");
  cmd->add_option("--checkpoint", args->request.checkpoint, "checkpoint file or training directory")->required();
  cmd->add_option("--dataset", args->request.dataset, "corpus dataset to embed");
  cmd->add_option("--h5ad", args->request.h5ad, "or a cell file with raw counts: .h5ad, 10x MTX folder or 10x .h5");
  cmd->add_option("--split", args->request.split, "with --dataset: all | train | val (held-out cells of training)")
      ->capture_default_str();
  cmd->add_option("--out", args->request.out, "output .h5ad (obsm/X_sccello), .tsv, or .npy (float32 cells x dims + .cells.tsv)")->required();
  cmd->add_option("--batch-size", args->request.options.batch_size, "cells per batch (>= 1)")->capture_default_str();
  cmd->add_flag("--bf16", args->request.options.bf16, "bf16 autocast");
  cmd->add_option("--readout", args->readout,
                  "cell embedding: cls-head (scCello: cell head at <cls>) | gene-mean | gene-mean-head (mean of the "
                  "gene tokens' last states, without / with the cell head; docs/quality.md)")
      ->capture_default_str();
  cmd->add_flag("--no-store", args->no_store, "with --h5ad: do not open the store (no release migration)");
  cmd->add_option("--layer", args->request.import.h5ad.layer, "with --h5ad: counts layer");
  cmd->add_option("--var-column", args->request.import.h5ad.var_column, "with --h5ad: var column of gene ids");
  cmd->add_flag("--assume-normalized", args->request.import.assume_normalized, "with --h5ad: X is log1p(CP10k)");
  cmd->add_option("--total", args->total, "with --h5ad: per-cell total over vocab (scCello) | all genes (Geneformer)")
      ->capture_default_str();
  cmd->add_option("--min-gene-share", args->request.min_gene_share, "with --h5ad: refuse below this mapped share")
      ->capture_default_str();
  cmd->add_option("--hdf5-timeout", args->request.import.hdf5_guard.timeout_seconds,
                  "with --h5ad: seconds the forked check of the HDF5 file may take (0 = no check)")
      ->capture_default_str();
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return run_embed(ctx, *args); }; });
}

}  // namespace

void add_markers_command(CLI::App& app, CliContext& ctx);  // eval markers (cmd_model_markers.cc)

void add_model_commands(CLI::App& app, CliContext& ctx) {
  add_model_index_hooks(ctx);
  add_annotate_command(app, ctx);
  add_train(app, ctx);
  add_embed(app, ctx);
  add_markers_command(app, ctx);
}

}  // namespace sccello
