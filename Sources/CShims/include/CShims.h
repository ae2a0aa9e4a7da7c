#ifndef SHARECAST_CSHIMS_H
#define SHARECAST_CSHIMS_H

// Typed, non-variadic entry points for the C calls Swift cannot make directly.
// Every variadic libmicrohttpd or libcurl call the project needs has exactly one wrapper here,
// with a fixed signature per option kind, so the Swift side never builds a va_list.

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include <curl/curl.h>

// MARK: libmicrohttpd

/// Starts a daemon bound to `address` (IPv4 or IPv6; its port may be 0) with the options Sharecast uses.
/// Returns NULL when the daemon could not start (port in use, bad address); errno is left as MHD set it.
/// Sets one connection's idle timeout (the variadic MHD_set_connection_option).
int shim_mhd_set_connection_timeout(struct MHD_Connection *connection, unsigned int seconds);

struct MHD_Daemon *shim_mhd_start(unsigned int flags,
                                  const struct sockaddr *address,
                                  unsigned int connection_limit,
                                  unsigned int connection_timeout_seconds,
                                  unsigned int thread_pool_size,
                                  size_t connection_memory_limit,
                                  MHD_AccessHandlerCallback handler,
                                  void *handler_context,
                                  MHD_RequestCompletedCallback completed,
                                  void *completed_context,
                                  MHD_AcceptPolicyCallback accept_policy,
                                  void *accept_policy_context,
                                  MHD_NotifyConnectionCallback notify_connection,
                                  void *notify_connection_context);

/// The port the daemon's listening socket is bound to (useful after binding port 0), or 0.
uint16_t shim_mhd_bound_port(struct MHD_Daemon *daemon);

/// The connection's client address as the kernel gave it (IPv4 or IPv6) and its length; NULL
/// for any other family or when MHD has none. Valid while the connection is.
const struct sockaddr *shim_mhd_client_sockaddr(struct MHD_Connection *connection, socklen_t *length);

/// The connection's socket, or -1.
int shim_mhd_connection_fd(struct MHD_Connection *connection);

// MARK: descriptors (fcntl is variadic)

/// A close-on-exec duplicate of `fd` (a socket taken over from libmicrohttpd), or -1.
int shim_dup_cloexec(int fd);
/// Sets O_NONBLOCK; 0 on success, -1 on failure.
int shim_set_nonblocking(int fd);

// MARK: libcurl

CURLcode shim_curl_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode shim_curl_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value);
CURLcode shim_curl_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode shim_curl_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode shim_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);

typedef size_t (*shim_curl_data_callback)(char *data, size_t size, size_t count, void *context);
CURLcode shim_curl_setopt_write_function(CURL *handle, shim_curl_data_callback callback);
CURLcode shim_curl_setopt_header_function(CURL *handle, shim_curl_data_callback callback);

typedef int (*shim_curl_progress_callback)(void *context, curl_off_t dltotal, curl_off_t dlnow,
                                           curl_off_t ultotal, curl_off_t ulnow);
CURLcode shim_curl_setopt_progress_function(CURL *handle, shim_curl_progress_callback callback);

CURLcode shim_curl_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode shim_curl_getinfo_string(CURL *handle, CURLINFO info, const char **value);
CURLcode shim_curl_getinfo_pointer(CURL *handle, CURLINFO info, void **value);

CURLMcode shim_curl_multi_setopt_long(CURLM *multi, CURLMoption option, long value);

#endif

/// libFuzzer's driver (in fuzzing builds only: nothing references it otherwise). SwiftPM points an
/// executable's `main` at the module's own entry, so the fuzz entry starts the driver itself.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
