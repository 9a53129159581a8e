// oneDNN side of xent's softmax comparisons: softmax_v2 forward, accurate
// algorithm, plain or log, on a [rows, cols] float32 matrix, one warm-up
// call, median of reps calls, printed as one JSON object.
//
// Build and run (Debian's libdnnl-dev, oneDNN 2.6):
//   gcc -O2 -o /tmp/onednn-softmax bench/onednn/softmax.c -ldnnl
//   OMP_NUM_THREADS=T /tmp/onednn-softmax softmax|logsoftmax ROWS COLS REPS
#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(f) do { dnnl_status_t s_ = (f); if (s_ != dnnl_success) { \
	fprintf(stderr, "oneDNN error %d at %s:%d\n", (int)s_, __FILE__, __LINE__); exit(1); } } while (0)

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv) {
	if (argc != 5) {
		fprintf(stderr, "usage: %s softmax|logsoftmax ROWS COLS REPS\n", argv[0]);
		return 2;
	}
	int logsm = strcmp(argv[1], "logsoftmax") == 0;
	dnnl_dim_t rows = atol(argv[2]), cols = atol(argv[3]);
	int reps = atoi(argv[4]);
	dnnl_engine_t eng;
	dnnl_stream_t str;
	CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
	CHECK(dnnl_stream_create(&str, eng, dnnl_stream_default_flags));
	dnnl_dims_t dims = {rows, cols};
	dnnl_memory_desc_t md;
	CHECK(dnnl_memory_desc_init_by_tag(&md, 2, dims, dnnl_f32, dnnl_ab));
	dnnl_softmax_v2_desc_t sd;
	CHECK(dnnl_softmax_v2_forward_desc_init(&sd, dnnl_forward_inference,
		logsm ? dnnl_softmax_log : dnnl_softmax_accurate, &md, &md, 1));
	dnnl_primitive_desc_t pd;
	CHECK(dnnl_primitive_desc_create(&pd, &sd, NULL, eng, NULL));
	dnnl_primitive_t prim;
	CHECK(dnnl_primitive_create(&prim, pd));
	float *src = malloc(sizeof(float) * rows * cols), *dst = malloc(sizeof(float) * rows * cols);
	srand(1);
	for (long i = 0; i < rows * cols; i++) src[i] = 3.0f * ((float)rand() / RAND_MAX - 0.5f);
	dnnl_memory_t ms, md2;
	CHECK(dnnl_memory_create(&ms, &md, eng, src));
	CHECK(dnnl_memory_create(&md2, &md, eng, dst));
	dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, ms}, {DNNL_ARG_DST, md2}};
	double *t = malloc(sizeof(double) * reps);
	CHECK(dnnl_primitive_execute(prim, str, 2, args));
	CHECK(dnnl_stream_wait(str));
	for (int r = 0; r < reps; r++) {
		double t0 = now();
		CHECK(dnnl_primitive_execute(prim, str, 2, args));
		CHECK(dnnl_stream_wait(str));
		t[r] = now() - t0;
	}
	qsort(t, reps, sizeof(double), cmp);
	double med = reps % 2 ? t[reps / 2] : (t[reps / 2 - 1] + t[reps / 2]) / 2;
	printf("{\"op\":\"%s\",\"impl\":\"onednn\",\"rows\":%ld,\"cols\":%ld,\"seconds\":%g,\"gbps\":%g}\n",
		argv[1], (long)rows, (long)cols, med, 8.0 * rows * cols / med / 1e9);
	return 0;
}
