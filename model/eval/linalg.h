// Thin wrappers over the BLAS/LAPACK the process links (Debian's libblas.so.3 / liblapack.so.3,
// OpenBLAS when selected): the few dense kernels the evaluation needs. Row-major, no ownership,
// thread-safe (BLAS threads are process-wide: see set_blas_threads).
#pragma once

#include <cstdint>
#include <vector>

namespace sccello::eval {

// C (m x n) = alpha * A (m x k) * B(n x k)^T + beta * C; all row-major, contiguous.
void gemm_abt(int64_t m, int64_t n, int64_t k, float alpha, const float* a, const float* b, float beta, float* c);
void gemm_abt(int64_t m, int64_t n, int64_t k, double alpha, const double* a, const double* b, double beta,
              double* c);

// C (n x n, full symmetric) = A^T A for A (m x n) row-major.
void gram_ata(int64_t m, int64_t n, const double* a, double* c);

// The `count` largest eigenvalues (descending) and their eigenvectors (columns of a n x count
// row-major matrix) of the symmetric n x n matrix `s` (row-major; destroyed). False on failure.
bool top_eigen(int64_t n, int64_t count, std::vector<double>* s, std::vector<double>* values,
               std::vector<double>* vectors);

// Sets the BLAS worker threads when the BLAS is OpenBLAS (found at run time); else a no-op.
void set_blas_threads(int threads);

}  // namespace sccello::eval
