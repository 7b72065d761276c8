#include "gateway/access_log.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

#define BUF_SIZE (32 * 1024)
#define MAX_QUEUED 64

struct log_buf {
	size_t len;
	struct log_buf *next;
	char data[BUF_SIZE];
};

static struct {
	int on;
	int fd;
	char *path;
	enum config_log_format fmt;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct log_buf *queue_head, *queue_tail;
	int queued;
	int stop;
} alog = { .fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static atomic_ullong dropped;
static _Thread_local struct log_buf *thread_buf;

static int open_fd(const char *path)
{
	if (strcmp(path, "-") == 0)
		return dup(2);
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
}

static void *writer_main(void *arg)
{
	pthread_mutex_lock(&alog.lock);
	for (;;) {
		while (alog.queue_head == NULL && !alog.stop)
			pthread_cond_wait(&alog.cond, &alog.lock);
		if (alog.queue_head == NULL && alog.stop)
			break;
		struct log_buf *b = alog.queue_head;
		alog.queue_head = b->next;
		if (alog.queue_head == NULL)
			alog.queue_tail = NULL;
		alog.queued--;
		int fd = alog.fd;
		pthread_mutex_unlock(&alog.lock);
		for (size_t off = 0; off < b->len;) {
			ssize_t n = write(fd, b->data + off, b->len - off);
			if (n <= 0)
				break;
			off += (size_t)n;
		}
		free(b);
		pthread_mutex_lock(&alog.lock);
	}
	pthread_mutex_unlock(&alog.lock);
	return arg;
}

int access_log_open(const char *path, enum config_log_format fmt)
{
	if (path == NULL || path[0] == '\0')
		return 0;
	alog.fd = open_fd(path);
	if (alog.fd < 0)
		return -1;
	alog.path = strdup(path);
	alog.fmt = fmt;
	alog.stop = 0;
	if (pthread_create(&alog.thread, NULL, writer_main, NULL) != 0) {
		close(alog.fd);
		alog.fd = -1;
		return -1;
	}
	alog.on = 1;
	return 0;
}

int access_log_reopen(void)
{
	int fd, old;

	if (!alog.on)
		return 0;
	fd = open_fd(alog.path);
	if (fd < 0)
		return -1;
	pthread_mutex_lock(&alog.lock);
	old = alog.fd;
	alog.fd = fd;
	pthread_mutex_unlock(&alog.lock);
	close(old);
	return 0;
}

void access_log_close(void)
{
	if (!alog.on)
		return;
	access_log_flush_thread();
	pthread_mutex_lock(&alog.lock);
	alog.stop = 1;
	pthread_cond_signal(&alog.cond);
	pthread_mutex_unlock(&alog.lock);
	pthread_join(alog.thread, NULL);
	close(alog.fd);
	alog.fd = -1;
	free(alog.path);
	alog.path = NULL;
	alog.on = 0;
}

void access_log_flush_thread(void)
{
	struct log_buf *b = thread_buf;

	if (b == NULL || b->len == 0)
		return;
	thread_buf = NULL;
	pthread_mutex_lock(&alog.lock);
	if (alog.queued >= MAX_QUEUED) {
		pthread_mutex_unlock(&alog.lock);
		size_t lines = 0;
		for (size_t i = 0; i < b->len; i++)
			lines += b->data[i] == '\n';
		atomic_fetch_add(&dropped, lines);
		free(b);
		return;
	}
	b->next = NULL;
	if (alog.queue_tail)
		alog.queue_tail->next = b;
	else
		alog.queue_head = b;
	alog.queue_tail = b;
	alog.queued++;
	pthread_cond_signal(&alog.cond);
	pthread_mutex_unlock(&alog.lock);
}

unsigned long long access_log_dropped(void)
{
	return atomic_load(&dropped);
}

/* JSON string escaping of untrusted bytes into out. */
static char *json_escape(char *out, size_t n, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < len && o + 7 < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			o += (size_t)snprintf(out + o, n - o, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	return out;
}

static int format_combined(char *line, size_t n, const struct access_entry *e)
{
	char method[32], target[1024], ref[512], ua[512], when[64];
	struct tm tm;

	localtime_r(&e->when, &tm);
	strftime(when, sizeof(when), "%d/%b/%Y:%H:%M:%S %z", &tm);
	return snprintf(line, n, "%s - - [%s] \"%s %s HTTP/1.%d\" %d %llu \"%s\" \"%s\"\n",
			e->client_ip, when, log_escape(method, sizeof(method), e->method, e->method_len),
			log_escape(target, sizeof(target), e->target, e->target_len),
			e->version_minor, e->status, (unsigned long long)e->bytes_sent,
			e->referer_len ? log_escape(ref, sizeof(ref), e->referer, e->referer_len) : "-",
			e->user_agent_len ? log_escape(ua, sizeof(ua), e->user_agent, e->user_agent_len)
					  : "-");
}

static int format_json(char *line, size_t n, const struct access_entry *e)
{
	char method[64], target[2048], host[512], ref[1024], ua[1024], app[256], when[32];
	struct tm tm;

	gmtime_r(&e->when, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return snprintf(line, n,
			"{\"time\":\"%s\",\"client\":\"%s\",\"method\":\"%s\",\"target\":\"%s\","
			"\"version\":\"HTTP/1.%d\",\"host\":\"%s\",\"status\":%d,\"bytes\":%llu,"
			"\"referer\":\"%s\",\"user_agent\":\"%s\",\"app\":\"%s\",\"duration_us\":%llu}\n",
			when, e->client_ip, json_escape(method, sizeof(method), e->method, e->method_len),
			json_escape(target, sizeof(target), e->target, e->target_len), e->version_minor,
			json_escape(host, sizeof(host), e->host, e->host_len), e->status,
			(unsigned long long)e->bytes_sent,
			json_escape(ref, sizeof(ref), e->referer, e->referer_len),
			json_escape(ua, sizeof(ua), e->user_agent, e->user_agent_len),
			json_escape(app, sizeof(app), e->app, strlen(e->app)),
			(unsigned long long)e->duration_us);
}

void access_log_write(const struct access_entry *e)
{
	char line[8192];
	int len;

	if (!alog.on)
		return;
	len = alog.fmt == CONFIG_LOG_JSON ? format_json(line, sizeof(line), e)
					  : format_combined(line, sizeof(line), e);
	if (len <= 0)
		return;
	if ((size_t)len >= sizeof(line)) {
		len = sizeof(line) - 1;
		line[len - 1] = '\n';
	}
	if (thread_buf != NULL && thread_buf->len + (size_t)len > BUF_SIZE)
		access_log_flush_thread();
	if (thread_buf == NULL) {
		thread_buf = malloc(sizeof(*thread_buf));
		if (thread_buf == NULL) {
			atomic_fetch_add(&dropped, 1);
			return;
		}
		thread_buf->len = 0;
	}
	memcpy(thread_buf->data + thread_buf->len, line, (size_t)len);
	thread_buf->len += (size_t)len;
}
