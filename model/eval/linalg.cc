#include "model/eval/linalg.h"

#include <dlfcn.h>

#include <algorithm>

extern "C" {
#include <cblas.h>
// LAPACK (Fortran ABI): eigenvalues/vectors of a symmetric matrix, a range by index.
void dsyevr_(const char* jobz, const char* range, const char* uplo, const int* n, double* a, const int* lda,
             const double* vl, const double* vu, const int* il, const int* iu, const double* abstol, int* m,
             double* w, double* z, const int* ldz, int* isuppz, double* work, const int* lwork, int* iwork,
             const int* liwork, int* info);
}

namespace sccello::eval {

void gemm_abt(int64_t m, int64_t n, int64_t k, float alpha, const float* a, const float* b, float beta, float* c) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
              alpha, a, static_cast<int>(k), b, static_cast<int>(k), beta, c, static_cast<int>(n));
}

void gemm_abt(int64_t m, int64_t n, int64_t k, double alpha, const double* a, const double* b, double beta,
              double* c) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
              alpha, a, static_cast<int>(k), b, static_cast<int>(k), beta, c, static_cast<int>(n));
}

void gram_ata(int64_t m, int64_t n, const double* a, double* c) {
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, static_cast<int>(n), static_cast<int>(m), 1.0, a,
              static_cast<int>(n), 0.0, c, static_cast<int>(n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < i; ++j) c[i * n + j] = c[j * n + i];
}

bool top_eigen(int64_t n, int64_t count, std::vector<double>* s, std::vector<double>* values,
               std::vector<double>* vectors) {
  // Row-major symmetric = column-major symmetric: LAPACK sees the same matrix.
  const int ni = static_cast<int>(n), il = static_cast<int>(n - count + 1), iu = static_cast<int>(n);
  const double zero = 0, abstol = 0;
  int found = 0, info = 0, lwork = -1, liwork = -1, iwork_query = 0;
  double work_query = 0;
  std::vector<double> w(n), z(n * count);
  std::vector<int> isuppz(2 * count);
  dsyevr_("V", "I", "U", &ni, s->data(), &ni, &zero, &zero, &il, &iu, &abstol, &found, w.data(), z.data(), &ni,
          isuppz.data(), &work_query, &lwork, &iwork_query, &liwork, &info);
  if (info != 0) return false;
  lwork = static_cast<int>(work_query);
  liwork = iwork_query;
  std::vector<double> work(lwork);
  std::vector<int> iwork(liwork);
  dsyevr_("V", "I", "U", &ni, s->data(), &ni, &zero, &zero, &il, &iu, &abstol, &found, w.data(), z.data(), &ni,
          isuppz.data(), work.data(), &lwork, iwork.data(), &liwork, &info);
  if (info != 0 || found != count) return false;
  values->resize(count);
  vectors->assign(n * count, 0);
  for (int64_t c = 0; c < count; ++c) {  // ascending from LAPACK -> descending, column c of z
    const int64_t src = count - 1 - c;
    (*values)[c] = w[src];
    for (int64_t r = 0; r < n; ++r) (*vectors)[r * count + c] = z[src * n + r];
  }
  return true;
}

void set_blas_threads(int threads) {
  using SetThreads = void (*)(int);
  auto fn = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (fn && threads > 0) fn(threads);
}

}  // namespace sccello::eval
