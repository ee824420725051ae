/* files.c - files from paths.static and paths.media, sent from their descriptor. */
#include <sys/stat.h>

#include "app.h"
#include "config.h"
#include "handlers.h"
#include "hash.h"
#include "media.h"
#include "static.h"

/* rel under root; forever: a rendition, whose name is its content's hash */
static void serve_file(struct app *app, const struct request *req, const char *root,
                       const char *rel, bool forever, struct response *resp)
{
	struct stat st;
	int fd = static_open(root, rel, &st);
	if (fd < 0) {
		answer_not_found(app, req, resp);
		return;
	}
	/* http sends the bytes from the descriptor (sendfile): nothing is copied, and a file
	 * cut short while it is sent ends the connection instead of passing as complete */
	resp->fd = fd;
	resp->fd_size = (size_t)st.st_size;
	resp->tag = files_tag(&st);
	resp->content_type = static_content_type(rel);
	resp->cacheable = true;
	resp->immutable = forever;
	resp->last_modified = st.st_mtime;
}

void files_static(struct app *app, const struct request *req, const char *rel,
                  struct response *resp)
{
	serve_file(app, req, app->cfg->static_dir, rel, false, resp);
}

void files_root(struct app *app, const struct request *req, const char *arg, struct response *resp)
{
	(void)arg;
	serve_file(app, req, app->cfg->static_dir, req->path + 1, false, resp);
}

void files_media(struct app *app, const struct request *req, const char *rel, struct response *resp)
{
	/* the renditions' own names only: nothing else that may lie in the folder */
	if (!media_file_valid(rel, NULL, NULL, NULL)) {
		answer_not_found(app, req, resp);
		return;
	}
	serve_file(app, req, app->cfg->media_dir, rel, true, resp);
}

/* What identifies a file's bytes without reading them: device, inode, size, modification. */
uint64_t files_tag(const struct stat *st)
{
	uint64_t id[5] = {(uint64_t)st->st_dev, (uint64_t)st->st_ino, (uint64_t)st->st_size,
	                  (uint64_t)st->st_mtim.tv_sec, (uint64_t)st->st_mtim.tv_nsec};
	return hash_bytes(HASH_SEED, id, sizeof(id));
}
