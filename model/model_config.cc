// RunConfig JSON parsing, printing and validation.
#include "model/model_config.h"

#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "store/safe_text.h"

namespace sccello {

using json = nlohmann::json;

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ModelConfig, vocab_size, pad_id, mask_id, cls_id, layers, hidden, heads,
                                   ffn, max_positions, dropout, attention_dropout, layer_norm_eps,
                                   activation, tau)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(LossConfig, mgp, intra, inter, reg, mgp_weight, intra_weight,
                                   inter_weight, reg_weight)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TrainConfig, lr, weight_decay, adam_beta1, adam_beta2, adam_eps,
                                   warmup_steps, batch_size, grad_accum, epochs, steps, clip_norm, max_len,
                                   mask_prob, val_fraction, log_every, checkpoint_every, keep_last,
                                   group_megabatch, bf16, seed, target, release, datasets, max_cells, losses)

namespace {

bool same_kind(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) return !(a.is_number_integer() && b.is_number_float());
  return a.type() == b.type();
}

// Overlays `input` onto `defaults` key by key: unknown keys and type mismatches are errors.
Status overlay(json& defaults, const json& input, const std::string& where) {
  if (!input.is_object()) return Status::invalid(where + ": expected a JSON object");
  for (auto it = input.begin(); it != input.end(); ++it) {
    std::string key = where + "." + it.key();
    if (!defaults.contains(it.key()))
      return Status::invalid("unknown config key '" + key + "' (see model/configs/default.json for the keys)");
    json& slot = defaults[it.key()];
    if (slot.is_object()) {
      SCCELLO_RETURN_IF_ERROR(overlay(slot, it.value(), key));
    } else if (!same_kind(slot, it.value())) {
      return Status::invalid("config key '" + key + "' has type " + it.value().type_name() + ", expected " +
                             slot.type_name());
    } else {
      slot = it.value();
    }
  }
  return Status::ok();
}

}  // namespace

Result<RunConfig> parse_run_config(const std::string& json_text, const std::string& source) {
  json input = json::parse(json_text, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
  if (input.is_discarded()) return Status::invalid(source + ": not valid JSON");
  RunConfig defaults;
  json merged = {{"model", defaults.model}, {"train", defaults.train}};
  SCCELLO_RETURN_IF_ERROR(overlay(merged, input, source));
  RunConfig config;
  try {
    config.model = merged["model"].get<ModelConfig>();
    config.train = merged["train"].get<TrainConfig>();
  } catch (const json::exception& e) {
    return Status::invalid(source + ": " + e.what());
  }
  return config;
}

Result<RunConfig> load_run_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::io_error("cannot read config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_run_config(ss.str(), path);
}

std::string run_config_to_json(const RunConfig& config) {
  json j = {{"model", config.model}, {"train", config.train}};
  return json_dump(j, 2);
}

Status LossConfig::set_enabled(const std::string& list) {
  mgp = intra = inter = reg = false;
  std::stringstream ss(list);
  std::string name;
  int count = 0;
  while (std::getline(ss, name, ',')) {
    if (name == "mgp") mgp = true;
    else if (name == "intra") intra = true;
    else if (name == "inter") inter = true;
    else if (name == "reg") reg = true;
    else return Status::invalid("--losses: unknown loss '" + name + "' (use mgp, intra, inter, reg)");
    ++count;
  }
  if (count == 0) return Status::invalid("--losses: give at least one of mgp, intra, inter, reg");
  return Status::ok();
}

std::string LossConfig::enabled_list() const {
  std::string out;
  for (auto [on, name] : {std::pair{mgp, "mgp"}, {intra, "intra"}, {inter, "inter"}, {reg, "reg"}})
    if (on) out += (out.empty() ? "" : ",") + std::string(name);
  return out;
}

namespace {

Status check(bool ok, const std::string& message) { return ok ? Status::ok() : Status::invalid(message); }

Status validate_model(const ModelConfig& m) {
  SCCELLO_RETURN_IF_ERROR(check(m.layers >= 1 && m.hidden >= 1 && m.ffn >= 1 && m.heads >= 1,
                                "model.layers, model.hidden, model.ffn, model.heads must be >= 1"));
  SCCELLO_RETURN_IF_ERROR(check(m.hidden % m.heads == 0, "model.heads (" + std::to_string(m.heads) +
                                ") must divide model.hidden (" + std::to_string(m.hidden) + ")"));
  SCCELLO_RETURN_IF_ERROR(check(m.vocab_size > m.cls_id && m.cls_id > m.mask_id && m.mask_id > m.pad_id &&
                                m.pad_id >= 0, "model: need 0 <= pad_id < mask_id < cls_id < vocab_size"));
  SCCELLO_RETURN_IF_ERROR(check(m.max_positions >= 2, "model.max_positions must be >= 2"));
  SCCELLO_RETURN_IF_ERROR(check(m.dropout >= 0 && m.dropout < 1 && m.attention_dropout >= 0 &&
                                m.attention_dropout < 1, "model.dropout values must lie in [0, 1)"));
  SCCELLO_RETURN_IF_ERROR(check(m.activation == "relu" || m.activation == "gelu",
                                "model.activation must be relu or gelu, not '" + m.activation + "'"));
  return check(m.tau > 0 && m.layer_norm_eps > 0, "model.tau and model.layer_norm_eps must be > 0");
}

Status validate_train(const TrainConfig& t, const ModelConfig& m) {
  SCCELLO_RETURN_IF_ERROR(check(t.max_len >= 2 && t.max_len <= m.max_positions,
                                "train.max_len (" + std::to_string(t.max_len) +
                                ") must lie in [2, model.max_positions = " + std::to_string(m.max_positions) + "]"));
  SCCELLO_RETURN_IF_ERROR(check(t.batch_size >= 1 && t.grad_accum >= 1, "train.batch_size and train.grad_accum must be >= 1"));
  SCCELLO_RETURN_IF_ERROR(check(t.steps > 0 || t.epochs > 0, "give train.steps or train.epochs > 0"));
  SCCELLO_RETURN_IF_ERROR(check(t.steps >= 0 && t.epochs >= 0 && t.warmup_steps >= 0, "steps, epochs, warmup_steps must be >= 0"));
  SCCELLO_RETURN_IF_ERROR(check(t.lr > 0 && t.weight_decay >= 0 && t.clip_norm >= 0, "train.lr must be > 0, weight_decay and clip_norm >= 0"));
  SCCELLO_RETURN_IF_ERROR(check(t.mask_prob > 0 && t.mask_prob < 1, "train.mask_prob must lie in (0, 1)"));
  SCCELLO_RETURN_IF_ERROR(check(t.val_fraction >= 0 && t.val_fraction < 1, "train.val_fraction must lie in [0, 1)"));
  SCCELLO_RETURN_IF_ERROR(check(t.log_every >= 1 && t.checkpoint_every >= 1 && t.keep_last >= 1 && t.group_megabatch >= 1,
                                "train.log_every, checkpoint_every, keep_last, group_megabatch must be >= 1"));
  SCCELLO_RETURN_IF_ERROR(check(t.max_cells >= 0, "train.max_cells must be >= 0"));
  std::set<std::string> seen;
  for (const std::string& d : t.datasets)
    if (!seen.insert(d).second)
      return Status::invalid("dataset '" + d + "' is listed twice in --datasets / train.datasets: its cells would be "
                             "trained on twice per epoch; list each dataset once");
  const LossConfig& l = t.losses;
  SCCELLO_RETURN_IF_ERROR(check(l.mgp || l.intra || l.inter || l.reg, "train.losses: switch on at least one loss"));
  return check(l.mgp_weight >= 0 && l.intra_weight >= 0 && l.inter_weight >= 0 && l.reg_weight >= 0,
               "train.losses weights must be >= 0");
}

}  // namespace

Status validate(const RunConfig& config) {
  SCCELLO_RETURN_IF_ERROR(validate_model(config.model));
  return validate_train(config.train, config.model);
}

}  // namespace sccello
