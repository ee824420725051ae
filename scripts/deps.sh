# deps.sh - sourced by scripts/run and scripts/test: installs missing Debian packages.
# ensure_packages PKG...: installs what is missing with apt-get when root (running
# `apt-get update` once first); otherwise prints the exact command and exits 2.
ensure_packages() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing packages; run:" >&2
		echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
		exit 2
	fi
	if [ -z "${GAZETTE_APT_UPDATED:-}" ]; then
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
		export GAZETTE_APT_UPDATED=1
	fi
	echo "installing: ${missing[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

BUILD_PACKAGES=(gcc meson ninja-build pkgconf python3 tzdata
	libmicrohttpd-dev libjansson-dev libsqlite3-dev libcmark-gfm-dev libcmark-gfm-extensions-dev libutf8proc-dev libxml2-dev libinih-dev zlib1g-dev
	libpq-dev nettle-dev libargon2-dev libvips-dev libcurl4-openssl-dev libcmocka-dev)

# Tools the tests drive as a user would: PostgreSQL (tests/http/pg.py starts its own), nginx in
# front of the server (test_nginx.py), a headless browser (test_browser.py; test_admin_browser.py
# drives it with playwright-core from npm, which scripts/test installs), strace for the unit's
# system call filter, exiftool to read back what images keep, slowhttptest for slow-client
# attacks, clang-format for the formatting check; dpkg-buildpackage and lintian (devscripts,
# debhelper, lintian, fakeroot, dpkg-dev) to build and check the Debian package, and logrotate to
# run its /etc/logrotate.d file (test_package.py). Installed by scripts/test only.
TEST_PACKAGES=(postgresql-15 postgresql-client-15 nginx chromium strace valgrind slowhttptest clang-format python3-jsonschema
	libimage-exiftool-perl varnish devscripts debhelper lintian fakeroot dpkg-dev logrotate)
