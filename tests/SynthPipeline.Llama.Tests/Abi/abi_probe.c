/* Prints sizeof/offsetof of the one struct SynthPipeline marshals itself (LLamaSharp marshals the rest):
   ggml_threadpool_params. Built by AbiTests against the fetched llama.cpp source bundle's ggml headers; its output
   is recorded in abi_expected.txt. AbiTests also checks the layout against the library LLamaSharp loaded. */
#include <stddef.h>
#include <stdio.h>
#include "ggml.h"

#define S(t) printf("%s %zu\n", #t, sizeof(struct t))
#define F(t, f) printf("%s.%s %zu\n", #t, #f, offsetof(struct t, f))

int main(void) {
    S(ggml_threadpool_params);
    F(ggml_threadpool_params, cpumask); F(ggml_threadpool_params, n_threads); F(ggml_threadpool_params, prio);
    F(ggml_threadpool_params, poll); F(ggml_threadpool_params, strict_cpu); F(ggml_threadpool_params, paused);
    return 0;
}
