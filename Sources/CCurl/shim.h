#ifndef HORAE_CCURL_SHIM_H
#define HORAE_CCURL_SHIM_H

#include <curl/curl.h>

/*
 * Swift cannot call C variadic functions, so each curl_easy_setopt / curl_easy_getinfo /
 * curl_multi_setopt argument type Horae uses gets one typed, non-variadic wrapper here.
 * Pick the wrapper whose type matches the option's documented type: libcurl reads the
 * argument with va_arg, so a mismatch (e.g. an int where a long is expected) is undefined.
 */

/* ---- curl_easy_setopt ---- */
static inline CURLcode horae_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode horae_easy_setopt_off(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode horae_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode horae_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode horae_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}
/* CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION share this prototype. */
static inline CURLcode horae_easy_setopt_write_callback(CURL *handle, CURLoption option,
                                                        curl_write_callback value) {
    return curl_easy_setopt(handle, option, value);
}

/* ---- curl_easy_getinfo ---- */
static inline CURLcode horae_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode horae_easy_getinfo_off(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode horae_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value) {
    return curl_easy_getinfo(handle, info, value);
}

/* ---- curl_multi_setopt ---- */
static inline CURLMcode horae_multi_setopt_long(CURLM *handle, CURLMoption option, long value) {
    return curl_multi_setopt(handle, option, value);
}

/* ---- helpers for things Swift imports awkwardly ---- */
/* CURLMsg.data is a union; this reads its CURLcode member for a CURLMSG_DONE message. */
static inline CURLcode horae_msg_result(const CURLMsg *message) {
    return message->data.result;
}
/* Whether the libcurl this process loaded can speak HTTP/2. */
static inline int horae_curl_has_http2(void) {
    const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
    return info != NULL && (info->features & CURL_VERSION_HTTP2) != 0;
}
/* curl_global_init(CURL_GLOBAL_DEFAULT); the flags are macros Swift may not import. */
static inline CURLcode horae_curl_global_init(void) {
    return curl_global_init(CURL_GLOBAL_DEFAULT);
}
/* The version string of the libcurl this process loaded, e.g. "7.88.1". */
static inline const char *horae_curl_version(void) {
    const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
    return info != NULL ? info->version : "unknown";
}

#endif
