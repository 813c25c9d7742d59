#ifndef HORAE_COPENSSL_SHIM_H
#define HORAE_COPENSSL_SHIM_H

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/rand.h>
#include <openssl/bio.h>
#include <openssl/rsa.h>

/* PEM pass-phrase callback that refuses: an encrypted key then fails to load instead of
   OpenSSL's default callback prompting on the terminal. */
static inline int horae_openssl_refuse_passphrase(char *buf, int size, int rwflag, void *userdata) {
    (void)buf; (void)size; (void)rwflag; (void)userdata;
    return 0;
}

/* Parses a PEM private key (PKCS#8 "PRIVATE KEY" or traditional "RSA PRIVATE KEY") from memory.
   Returns NULL on failure, with the reason on OpenSSL's error queue. */
static inline EVP_PKEY *horae_openssl_read_private_key(const void *pem, int length) {
    BIO *bio = BIO_new_mem_buf(pem, length);
    if (bio == NULL) return NULL;
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, horae_openssl_refuse_passphrase, NULL);
    BIO_free(bio);
    return key;
}

/* Parses a PEM public key ("PUBLIC KEY", SubjectPublicKeyInfo) from memory. */
static inline EVP_PKEY *horae_openssl_read_public_key(const void *pem, int length) {
    BIO *bio = BIO_new_mem_buf(pem, length);
    if (bio == NULL) return NULL;
    EVP_PKEY *key = PEM_read_bio_PUBKEY(bio, NULL, horae_openssl_refuse_passphrase, NULL);
    BIO_free(bio);
    return key;
}

/* 1 when the key is an RSA key (EVP_PKEY_base_id is a macro in OpenSSL 3, a function in 1.1). */
static inline int horae_openssl_is_rsa(const EVP_PKEY *key) {
    return EVP_PKEY_base_id(key) == EVP_PKEY_RSA;
}

/* The RSA modulus size in bits (EVP_PKEY_bits works on OpenSSL 1.1 and 3). */
static inline int horae_openssl_key_bits(const EVP_PKEY *key) {
    return EVP_PKEY_bits(key);
}

#endif
