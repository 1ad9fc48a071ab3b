# -DSCCELLO_SANITIZE=ON: AddressSanitizer + UndefinedBehaviorSanitizer for the libraries that do
# not need LibTorch (graph, store, cells I/O, plugins, eval, search, annotate, serve), the
# `sccello` and `sccello-tools` executables (serve runs in sccello-tools without LibTorch) and
# every test binary. Configure with -DSCCELLO_WITH_TORCH=OFF in a build folder of its own
# (scripts/sanitize.sh does: build-asan). Included from the top-level CMakeLists.txt after every
# target exists. The libFuzzer harnesses of tests/fuzz are built by scripts/fuzz.sh, not here.
#
# NO_MANUAL_VECTORIZATION: hnswlib 0.6.2 (Debian) prefetches `*(datal + j + 1)` in searchBaseLayer,
# a real 4-byte load one link past a full neighbour list, which lands past the end of the upper-
# layer allocation (upstream nmslib/hnswlib#578). malloc rounds the block up so release builds never
# fault, but ASan rightly reports it. Without manual vectorization hnswlib compiles no prefetch
# (and plain-loop distances); the graph algorithm is the same, so the sanitizer still checks ours.
set(sccello_sanitize_flags -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
    -DNO_MANUAL_VECTORIZATION)
foreach(lib sccello_graph sccello_store sccello_cells_io sccello_plugins sccello_eval sccello_search sccello_annotate sccello_serve)
  if(TARGET ${lib})
    target_compile_options(${lib} PRIVATE ${sccello_sanitize_flags})
    target_link_options(${lib} INTERFACE -fsanitize=address,undefined)
  endif()
endforeach()
foreach(area store graph plugins cells cli eval search serve bad_input)
  set(exe sccello_${area}_tests)
  if(TARGET ${exe})
    target_compile_options(${exe} PRIVATE ${sccello_sanitize_flags})
    target_link_options(${exe} PRIVATE -fsanitize=address,undefined)
  endif()
endforeach()
foreach(exe sccello sccello-tools)
  if(TARGET ${exe})
    target_compile_options(${exe} PRIVATE ${sccello_sanitize_flags})
    target_link_options(${exe} PRIVATE -fsanitize=address,undefined)
  endif()
endforeach()
