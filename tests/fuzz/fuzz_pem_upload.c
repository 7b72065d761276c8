/* libFuzzer target for the PEM upload parser: the input is split at its
 * first two NUL bytes into the certificate, private_key and ca_certificate
 * fields (missing parts are empty), as the API hands them over. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cert.h"
#include "crypto/secret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *part[3] = { "", "", "" };
	size_t len[3] = { 0, 0, 0 };
	const char *p = (const char *)data, *end = p + size, *nul;
	struct cert_bundle b;
	struct error err;
	int i;

	for (i = 0; i < 3 && p <= end; i++) {
		nul = i < 2 ? memchr(p, '\0', (size_t)(end - p)) : NULL;
		part[i] = p;
		len[i] = (size_t)((nul ? nul : end) - p);
		if (nul == NULL)
			break;
		p = nul + 1;
	}
	if (cert_upload_parse(part[0], len[0], part[1], len[1], part[2], len[2], &b, &err) == 0) {
		struct cert_info info;
		unsigned char *der = NULL;
		size_t der_len = 0;

		/* An accepted upload must also inspect and serialise. */
		if (cert_info_inspect(b.leaf, &info) == 0) {
			cert_status_compute(&info, "www.example.com", 1700000000);
			cert_info_free(&info);
		}
		free(cert_codec_chain_pem(b.leaf, b.chain));
		if (cert_codec_key_der(b.key, &der, &der_len) == 0) {
			EVP_PKEY_free(cert_codec_key_from_der(der, der_len));
			secret_free(der, der_len);
		}
	}
	cert_bundle_free(&b);
	return 0;
}
