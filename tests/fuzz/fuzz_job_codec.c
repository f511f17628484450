/* fuzz_job_codec: bs_job_decode on arbitrary bytes must never crash, leak
 * or read out of bounds; whatever it accepts must re-encode to bytes that
 * decode again to the same encoding (encode is a fixed point after one
 * round).
 *
 * The codec source is included (not linked from bs_queue) so that it is
 * built with this target's -fsanitize=fuzzer coverage instrumentation: the
 * folder libraries are compiled without it. The archive's job_codec.o is
 * then never pulled in, so there is no duplicate symbol. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../queue/job_codec.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bs_job job;
	char err[256];
	bs_job_init(&job);
	if (bs_job_decode((const char *)data, size, &job, err, sizeof(err)) == 0) {
		size_t len1, len2;
		char *enc1 = bs_job_encode(&job, &len1);
		struct bs_job again;
		bs_job_init(&again);
		if (bs_job_decode(enc1, len1, &again, err, sizeof(err)) != 0)
			abort();
		char *enc2 = bs_job_encode(&again, &len2);
		if (len1 != len2 || memcmp(enc1, enc2, len1) != 0)
			abort();
		free(enc1);
		free(enc2);
		bs_job_release(&again);
	} else if (!err[0]) {
		abort(); /* a refusal always says why */
	}
	bs_job_release(&job);
	return 0;
}
