// Annotation of cells with Cell Ontology terms from a reference index (docs/annotate.md). Per
// cell: the k nearest reference cells vote with their cosine similarity; votes roll up the
// ontology (a term's support counts its descendants' votes); the call is the most specific term
// whose support reaches min_support, so a cell between two sibling types gets their common
// parent, not a coin flip. Novel types (scCello): the cell's cosines to the seen types'
// centroids are correlated (Spearman) with each unseen candidate's PPR row to the seen types.
// Optional smoothing: Leiden clusters of the query cells' kNN graph vote like neighbours do.
// Torch-free: embeddings and the model's prototype calls come in as arrays. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/status.h"
#include "model/search/cell_search.h"

namespace sccello {

struct AnnotateOptions {
  int64_t k = 30;                // reference neighbours per cell
  double min_support = 0.5;      // share of the similarity-weighted votes a call needs
  bool exact = false;            // exact neighbour search instead of HNSW
  QueryFilters filters;          // e.g. only reference cells of some datasets
  // Novel types
  bool novel = true;
  double novel_threshold = 0.5;  // flag novel only when the top seen term's vote share is below this
  TermId novel_under;            // candidates under this term ("" = under the LCA of the neighbours)
  int64_t novel_candidates = 50; // at most this many candidates per cell (nearest in the graph first)
  std::string target = "ppr";    // raw similarity of candidates to the seen types
  // Smoothing (CellTypist-style majority voting over clusters of the query cells)
  bool smooth = false;
  double smooth_resolution = 1.0;
  int threads = 1;
};

struct CellAnnotation {
  TermId term_id;            // the call: most specific term with support >= min_support
  std::string term_name;
  double score = 0;          // support of the call
  TermId fine_term_id;       // the top-voted term (what a flat kNN majority vote says)
  std::string fine_term_name;
  double fine_share = 0;     // its share of the votes
  double margin = 0;         // top share minus the runner-up's share
  std::string hits_json;     // {"CL:...": neighbours labelled so, ...}
  TermId novel_term_id;      // best unseen candidate ("" when none)
  std::string novel_term_name;
  double novel_score = 0;    // its Spearman correlation
  double seen_score = 0;     // the same correlation for the top-voted seen term
  bool is_novel = false;     // fine_share < novel_threshold and novel_score > seen_score
  int32_t cluster = -1;      // with smoothing
  TermId smoothed_term_id;
  std::string smoothed_term_name;
};

// `embeddings`: n x dims (normalised or not); `exclude_rows` (empty or n entries, -1 = none):
// an index row to leave out per cell (a corpus cell annotating itself).
// Where annotate_cells spends its time (seconds): the neighbour search, the ontology roll-up and
// call, novel-type scoring, cluster smoothing.
struct AnnotateTiming {
  double search = 0, roll_up = 0, novel = 0, smooth = 0;
};

Result<std::vector<CellAnnotation>> annotate_cells(const CellSearch& search, const std::vector<float>& embeddings,
                                                   const std::vector<int64_t>& exclude_rows,
                                                   const AnnotateOptions& options, AnnotateTiming* timing = nullptr);

// The rolled-up vote of one cell, exposed for the brute-force oracle test: support of every term
// of the graph (votes of the term and its descendants over all votes), indexed by TermIndex.
std::vector<double> rolled_up_support(const OntologyGraph& graph, const std::vector<TermIndex>& voted_terms,
                                      const std::vector<double>& weights);
// The most specific (deepest; ties: higher support, then smaller id) term with support >= min.
TermIndex most_specific_supported(const OntologyGraph& graph, const std::vector<double>& support, double min_support);

}  // namespace sccello
