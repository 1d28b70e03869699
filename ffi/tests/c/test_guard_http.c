/*
 * The host's HTTP client: a minimal HTTP/1.0 GET over a plain socket, what a host does with
 * libcurl.
 * One file of the test_guard program (see test_guard.c).
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "test_guard.h"

/* Splits "http://127.0.0.1:PORT/path" into its port and path; 0 on success. */
static int parse_url(const char *url, struct sockaddr_in *addr, const char **path) {
  const char *host = url + 7, *colon, *slash;
  char ip[64];
  long port;
  if (strncmp(url, "http://", 7) != 0) return -1;
  colon = strchr(host, ':');
  slash = strchr(host, '/');
  if (colon == NULL || slash == NULL || colon > slash || (size_t)(colon - host) >= sizeof ip) {
    return -1;
  }
  memcpy(ip, host, (size_t)(colon - host));
  ip[colon - host] = 0;
  port = strtol(colon + 1, NULL, 10);
  if (port <= 0 || port > 65535) return -1;
  memset(addr, 0, sizeof *addr);
  addr->sin_family = AF_INET;
  addr->sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, ip, &addr->sin_addr) != 1) return -1;
  *path = slash;
  return 0;
}

/* GETs `url`, giving up after `timeout` seconds per read and past `max_bytes` of body. */
void http_get(const char *url, uint64_t timeout, size_t max_bytes, struct response *out) {
  struct sockaddr_in addr;
  const char *path = NULL;
  char request[512];
  struct timeval tv;
  uint8_t *data = NULL;
  size_t len = 0, cap = 0, limit = max_bytes + 8192;
  int fd, n;
  uint8_t *end = NULL;
  size_t i;

  memset(out, 0, sizeof *out);
  out->failure = CG_FETCH_FAILURE_NETWORK;
  if (parse_url(url, &addr, &path) != 0) return;
  fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return;
  tv.tv_sec = (time_t)timeout;
  tv.tv_usec = 0;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    close(fd);
    return;
  }
  n = snprintf(request, sizeof request, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
  if (n <= 0 || (size_t)n >= sizeof request || send(fd, request, (size_t)n, 0) != n) {
    close(fd);
    return;
  }
  for (;;) {
    ssize_t got;
    if (len == cap) {
      uint8_t *grown;
      cap = cap ? cap * 2 : 4096;
      grown = realloc(data, cap);
      if (grown == NULL) break;
      data = grown;
    }
    got = recv(fd, data + len, cap - len, 0);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      out->failure = CG_FETCH_FAILURE_TIMEOUT;
      close(fd);
      free(data);
      return;
    }
    if (got <= 0) break;
    len += (size_t)got;
    if (len > limit) {
      out->failure = CG_FETCH_FAILURE_TOO_LARGE;
      close(fd);
      free(data);
      return;
    }
  }
  close(fd);
  for (i = 0; i + 4 <= len; i++) {
    if (memcmp(data + i, "\r\n\r\n", 4) == 0) {
      end = data + i;
      break;
    }
  }
  if (end == NULL || len < 12 || memcmp(data, "HTTP/1.", 7) != 0) {
    free(data);
    return;
  }
  out->status = (unsigned)strtoul((const char *)data + 9, NULL, 10);
  /* Headers: one per line; Cache-Control is the one the guard reads. */
  {
    uint8_t *line = (uint8_t *)memchr(data, '\n', (size_t)(end - data));
    while (line != NULL && line < end) {
      uint8_t *next = (uint8_t *)memchr(line + 1, '\n', (size_t)(end - line));
      uint8_t *stop = next != NULL && next < end ? next : end;
      size_t line_len = (size_t)(stop - (line + 1));
      if (line_len > 14 && strncasecmp((const char *)line + 1, "cache-control:", 14) == 0) {
        size_t v = 15, w = line_len;
        while (v < w && line[v] == ' ') v++;
        while (w > v && (line[w] == '\r' || line[w] == ' ')) w--;
        if (w + 1 - v < sizeof out->cache_control) {
          memcpy(out->cache_control, line + v, w + 1 - v);
          out->cache_control[w + 1 - v] = 0;
          out->has_cache_control = 1;
        }
      }
      line = next != NULL && next < end ? next : NULL;
    }
  }
  out->body_len = len - (size_t)(end + 4 - data);
  if (out->body_len > max_bytes) {
    out->failure = CG_FETCH_FAILURE_TOO_LARGE;
    free(data);
    return;
  }
  out->body = malloc(out->body_len + 1);
  if (out->body == NULL) {
    free(data);
    return;
  }
  memcpy(out->body, end + 4, out->body_len);
  free(data);
  out->failure = -1;
}
