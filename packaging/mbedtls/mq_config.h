/* mbedTLS 3.6 configuration for mq (packaging/mbedtls/build.sh installs it as
 * include/mbedtls/mbedtls_config.h, so the library and everything that includes its headers see
 * the same settings).
 *
 * Starting point: what mq calls (src/net/tls_*.cc, src/net/ws_frame.cc, src/crypto/) and what
 * its peers negotiate. Everything else of the upstream default is left out: DTLS, static-RSA,
 * RSA-PSK, static-ECDH, DHE and EC-JPAKE key exchanges, Camellia/ARIA/DES, MD5/RIPEMD-160/SHA-3,
 * CMAC/NIST-KW, LMS, PKCS#7/#12, curves other than P-256/P-384/P-521/X25519, PSA storage, the
 * session cache, the debug module and the self tests.
 *
 * Per-connection memory: outgoing records carry at most 8 KiB of plaintext (a broker's records
 * are split by mbedTLS, see mbedtls_ssl_get_max_out_record_payload); incoming records stay at the
 * 16 KiB TLS maximum because a peer may send full-size records. One limit follows: a handshake
 * message is never split by mbedTLS on output, so the own certificate chain (certfile) must fit
 * in one 8 KiB record; mq checks this when it loads the certificate. An idle connection gives
 * both buffers back (MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH below).
 */
#ifndef MQ_MBEDTLS_CONFIG_H
#define MQ_MBEDTLS_CONFIG_H

/* ---- Platform ---- */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_HAVE_TIME
#define MBEDTLS_HAVE_TIME_DATE
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_FS_IO               /* cafile, capath, certfile, keyfile, crlfile */
#define MBEDTLS_THREADING_C         /* PSA's random generator and key store are shared by threads */
#define MBEDTLS_THREADING_PTHREAD

/* ---- Random numbers ---- */
#define MBEDTLS_ENTROPY_C
#define MBEDTLS_CTR_DRBG_C
#define MBEDTLS_HMAC_DRBG_C         /* deterministic ECDSA */

/* ---- Big numbers, elliptic curves, RSA ---- */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_GENPRIME            /* certgen --key-type rsa */
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_SECP521R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
/* X25519 shared secrets through the formally verified HACL* code (3rdparty/everest), several
 * times faster than the generic Montgomery ladder; the first group OpenSSL clients offer.
 * x25519-everest-psa.patch makes PSA (TLS 1.3 key shares) compute X25519 public keys with it
 * too. */
#define MBEDTLS_ECDH_VARIANT_EVEREST_ENABLED
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ECDSA_DETERMINISTIC
#define MBEDTLS_RSA_C
#define MBEDTLS_PKCS1_V15
#define MBEDTLS_PKCS1_V21           /* RSA-PSS: TLS 1.3 signatures with RSA keys */

/* ---- Symmetric ciphers ---- */
#define MBEDTLS_AES_C
#define MBEDTLS_AESNI_C             /* x86-64: AES-NI and PCLMULQDQ, picked at run time */
#define MBEDTLS_AESCE_C             /* AArch64: the same with the Armv8 crypto extension */
#define MBEDTLS_GCM_C
#define MBEDTLS_CCM_C               /* AES-CCM suites (constrained devices, PSK) */
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C
#define MBEDTLS_CIPHER_C
#define MBEDTLS_CIPHER_MODE_CBC     /* the ECDHE-*-CBC-SHA256/384 suites of mq's alias table */
#define MBEDTLS_CIPHER_PADDING_PKCS7

/* ---- Hashes and key derivation ---- */
#define MBEDTLS_MD_C
#define MBEDTLS_SHA1_C              /* WebSocket handshake, SHA-1 signed certificates */
#define MBEDTLS_SHA224_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA384_C
#define MBEDTLS_SHA512_C            /* $6$ and $7$ password hashes */
#define MBEDTLS_HKDF_C
#define MBEDTLS_PKCS5_C             /* PBKDF2-HMAC-SHA512 */

/* ---- PSA crypto (TLS 1.3 runs on it) ---- */
#define MBEDTLS_PSA_CRYPTO_C
#define MBEDTLS_PSA_KEY_STORE_DYNAMIC /* two keys per TLS 1.3 connection: no fixed slot count */

/* ---- Encodings, keys, certificates ---- */
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_OID_C
#define MBEDTLS_PEM_PARSE_C
#define MBEDTLS_PEM_WRITE_C
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_PK_PARSE_EC_COMPRESSED
#define MBEDTLS_PK_WRITE_C
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_X509_CRL_PARSE_C
#define MBEDTLS_X509_CSR_PARSE_C    /* certgen sign */
#define MBEDTLS_X509_CREATE_C
#define MBEDTLS_X509_CRT_WRITE_C
#define MBEDTLS_X509_RSASSA_PSS_SUPPORT
#define MBEDTLS_ERROR_C             /* mbedtls_strerror in error messages */

/* ---- TLS ---- */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_SRV_C
#define MBEDTLS_SSL_TICKET_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_SSL_PROTO_TLS1_3
#define MBEDTLS_SSL_TLS1_3_COMPATIBILITY_MODE
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_ENABLED
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL_ENABLED
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_EPHEMERAL_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_PSK_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_PSK_ENABLED
#define MBEDTLS_SSL_SESSION_TICKETS
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_ALPN
#define MBEDTLS_SSL_ENCRYPT_THEN_MAC
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE /* use_identity_as_username reads it after the handshake */
#define MBEDTLS_SSL_MAX_FRAGMENT_LENGTH
#define MBEDTLS_SSL_RENEGOTIATION   /* only so mbedtls_ssl_conf_renegotiation can turn it off */
#define MBEDTLS_SSL_ALL_ALERT_MESSAGES

#define MBEDTLS_SSL_IN_CONTENT_LEN 16384 /* a peer may send full 16 KiB records */
/* Outgoing records of at most 8 KiB: 8 KiB less per connection than 16 KiB. mbedTLS sends the
 * own certificate chain in one record, and 8 KiB still holds long chains (a leaf, an
 * intermediate and a cross-signed root, about 4.2 KB, did not fit in 4 KiB). */
#define MBEDTLS_SSL_OUT_CONTENT_LEN 8192
/* Record buffers that can change size (mbedTLS shrinks them to a negotiated maximum fragment
 * length), and with idle-buffers.patch mbedtls_ssl_set_idle_buffers: mq shrinks the buffers of
 * an idle connection to 64 bytes each, and mbedTLS grows them back before the next read or
 * write, as OpenSSL's SSL_MODE_RELEASE_BUFFERS does for Mosquitto. */
#define MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH

#endif /* MQ_MBEDTLS_CONFIG_H */
