// scCello's loss terms (DESIGN.md "Losses") as small functions of tensors, each returning a scalar
// tensor: masked gene prediction, cell-type coherence, the prototype regularizer and the
// vectorised ontology alignment loss. Pure functions (no state); shapes in comments.
#pragma once

#include <ATen/core/Tensor.h>

namespace sccello {

// x / max(||x||₂, 1e-12) along the last dimension.
at::Tensor l2_normalize(const at::Tensor& x);

struct MgpResult {
  at::Tensor loss;   // scalar; 0 when nothing is masked
  int64_t correct = 0;
  int64_t count = 0;
};
// q [M,H]: mlm_head output at the M masked positions (unnormalised); keys [V,H]: normalised
// mlm_head(word embeddings); targets [M] original ids. logits = (normalize(q)·s)(keys·s)ᵀ.
MgpResult masked_gene_prediction_loss(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& targets,
                                      double scale);

struct CoherenceResult {
  at::Tensor loss;   // scalar; 0 when no cell has a label
  int64_t correct = 0;
  int64_t count = 0;
};
// z [B,H] normalised cell embeddings; prototypes [C,H] (raw table); labels [B] int64, -1 = unmapped.
// logits = (z·s)(normalize(P)·s)ᵀ, cross-entropy over labelled cells.
CoherenceResult cell_type_coherence_loss(const at::Tensor& z, const at::Tensor& prototypes,
                                         const at::Tensor& labels, double scale);
// MSE(affine(P_s[label]), z·s) over labelled cells; affined [B,H] = affine(normalize(P[label])·s).
at::Tensor prototype_regularizer_loss(const at::Tensor& affined, const at::Tensor& z, const at::Tensor& labels,
                                      double scale);

// S [n,n] similarity with the diagonal already replaced by the two-pass z_i·z'_i; levels [n,n] int64
// (>= 1); ancestor [n,n] bool (ancestor[i][j]: c_j is c_i or an ancestor of it); valid [n] bool
// (false = unmapped cell, neither anchor nor candidate). Mean over all (anchor, level, positive)
// terms of −S_ip + log(exp S_ip + Σ_{n∈N} exp S_in); 0 when there are none. No loop over anchors.
at::Tensor ontology_alignment_loss(const at::Tensor& S, const at::Tensor& levels, const at::Tensor& ancestor,
                                   const at::Tensor& valid);
// S = (z·s)(z·s)ᵀ with diag = (z_i·s)·(z'_i·s).
at::Tensor alignment_similarity(const at::Tensor& z, const at::Tensor& z_second_pass, double scale);

// The alignment loss's rows for some anchors against a wider candidate set (data-parallel global
// negatives): S [n,N], levels and ancestor [n,N], row_valid [n], column_valid [N]. Returns the sum of
// the anchors' terms (with graph) and their number; ontology_alignment_loss = sum / count over all
// anchors, so anchors split across ranks add up to the loss of the whole batch.
struct AlignmentTerms {
  at::Tensor sum;  // scalar
  int64_t count = 0;
};
AlignmentTerms ontology_alignment_terms(const at::Tensor& S, const at::Tensor& levels, const at::Tensor& ancestor,
                                        const at::Tensor& row_valid, const at::Tensor& column_valid);
// S [n,N] = (z·s)(Z·s)ᵀ with entry (i, offset+i) = (z_i·s)·(z'_i·s): anchors z [n,H] are rows
// offset.. of the candidates Z [N,H].
at::Tensor alignment_similarity_rows(const at::Tensor& z, const at::Tensor& candidates, const at::Tensor& z_second_pass,
                                     int64_t offset, double scale);

}  // namespace sccello
