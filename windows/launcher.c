/* SPDX-License-Identifier: MIT */
/*
 * coding-agents.exe: the Windows launcher. coding-agents runs in a WSL 2 distribution; this
 * program finds the distribution (CODING_AGENTS_WSL_DISTRO, else WSL's default), refuses WSL 1,
 * translates Windows paths in the arguments and the working directory (windows/wslargs.c), and
 * runs the installed coding-agents there through wsl.exe --exec (no shell parses the
 * arguments), in this console (so the terminal's size and Ctrl-C reach it), forwarding its
 * exit status. `coding-agents.exe install BUNDLE` checks the bundle's SHA-256 against the
 * install.sh beside it, then runs that install.sh in the distribution as root, which checks
 * the hash and the minisign signature again before anything is unpacked. docs/windows.md.
 *
 * Cross-compiled with Debian's mingw-w64 (windows/CMakeLists.txt); tested under wine against a
 * stand-in wsl.exe (tests/windows/, tests/integration/windows.sh).
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <bcrypt.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "wslargs.h"

#define EXIT_USAGE 2
#define MAX_DISTROS 64
#define MAX_INSTALLER (1u << 20)

/* The script wsl.exe --exec runs: cd to the translated working directory, exec the installed
 * coding-agents with the arguments as they are ("$@": no shell parses them). */
static const char run_script[] =
        "d=$1; shift; p=;"
        " for c in /opt/coding-agents/current/bin/coding-agents /usr/bin/coding-agents; do"
        " if [ -x \"$c\" ]; then p=$c; break; fi; done;"
        " if [ -z \"$p\" ]; then echo 'coding-agents is not installed in this WSL distribution:"
        " run coding-agents.exe install BUNDLE from Windows (docs/windows.md)' >&2; exit 127; fi;"
        " if [ -n \"$d\" ]; then cd -- \"$d\" || exit 1; else cd || exit 1; fi;"
        " exec \"$p\" \"$@\"";

static const char usage[] =
        "usage: coding-agents.exe [--wsl-distribution=NAME] <command> [<args>]\n"
        "       coding-agents.exe [--wsl-distribution=NAME] install BUNDLE [install.sh options]\n"
        "       coding-agents.exe --wsl-help\n\n"
        "Runs coding-agents in a WSL 2 distribution: CODING_AGENTS_WSL_DISTRO or\n"
        "--wsl-distribution, else WSL's default. Windows paths in the arguments and the\n"
        "working directory become the distribution's (C:\\src -> /mnt/c/src, \\\\wsl$\\D\\p -> /p);\n"
        "nothing after a '--' argument is translated. CODING_AGENTS_WSL_MOUNT_ROOT names where\n"
        "the distribution mounts drives, if not /mnt/. The exit status is coding-agents'.\n\n"
        "install BUNDLE: BUNDLE.minisig and the release's install.sh must be beside BUNDLE. The\n"
        "bundle's SHA-256 is checked against install.sh here, then install.sh runs in the\n"
        "distribution as root and checks the hash and the signature again (docs/windows.md).\n";

/* Prints to stderr: the console's own wide write on a console, UTF-8 on a pipe or file. */
static void say(const char *fmt, ...)
{
        char msg[4096];
        wchar_t wide[4096];
        HANDLE err = GetStdHandle(STD_ERROR_HANDLE);
        DWORD mode, done;
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        if (GetConsoleMode(err, &mode)) {
                n = MultiByteToWideChar(CP_UTF8, 0, msg, -1, wide, (int) (sizeof(wide) / sizeof(wide[0])));
                if (n > 1)
                        (void) WriteConsoleW(err, wide, (DWORD) n - 1, &done, NULL);
                return;
        }
        (void) WriteFile(err, msg, (DWORD) strlen(msg), &done, NULL);
}

static char *utf8_from_wide(const wchar_t *w)
{
        int n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, -1, NULL, 0, NULL, NULL);
        char *s;

        if (n <= 0 || !(s = malloc((size_t) n)))
                return NULL;
        if (WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, -1, s, n, NULL, NULL) != n) {
                free(s);
                return NULL;
        }
        return s;
}

static wchar_t *wide_from_utf8(const char *s, size_t len)
{
        int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, (int) len, NULL, 0);
        wchar_t *w;

        if ((len > 0 && n <= 0) || !(w = calloc((size_t) n + 1, sizeof(*w))))
                return NULL;
        if (len > 0 && MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, (int) len, w, n) != n) {
                free(w);
                return NULL;
        }
        return w;
}

/* The wsl.exe to run: CODING_AGENTS_WSL_EXE (the tests' stand-in), else System32's. Never a
 * search of PATH or of the working directory. */
static wchar_t *wsl_exe(void)
{
        wchar_t sys[MAX_PATH];
        const wchar_t *env = _wgetenv(L"CODING_AGENTS_WSL_EXE");
        UINT n;
        wchar_t *path;

        if (env && env[0])
                return _wcsdup(env);
        n = GetSystemDirectoryW(sys, MAX_PATH);
        if (n == 0 || n >= MAX_PATH - 10)
                return NULL;
        path = calloc(n + 10, sizeof(*path));
        if (path)
                (void) swprintf(path, n + 10, L"%ls\\wsl.exe", sys);
        return path;
}

static BOOL WINAPI on_console_event(DWORD event)
{
        /* Ctrl-C and Ctrl-Break reach every process of the console, wsl.exe too, which hands
         * them to coding-agents: this process only waits for it to end. */
        return event == CTRL_C_EVENT || event == CTRL_BREAK_EVENT;
}

/*
 * Starts `exe` with `cmdline` in this console, in a job that ends it when this process ends
 * (however this one ends); its stdout into `capture` if given (closed here either way).
 * Returns the process, or NULL.
 */
static HANDLE start(const wchar_t *exe, const char *cmdline, HANDLE capture)
{
        STARTUPINFOW si = {.cb = sizeof(si)};
        PROCESS_INFORMATION pi;
        JOBOBJECT_EXTENDED_LIMIT_INFORMATION limit = {0};
        wchar_t *wide = wide_from_utf8(cmdline, strlen(cmdline));
        HANDLE job;
        BOOL ok;

        if (capture) {
                si.dwFlags = STARTF_USESTDHANDLES;
                si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
                si.hStdOutput = capture;
                si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
        }
        /* The application is named: CreateProcess never searches for it. */
        ok = wide && CreateProcessW(exe, wide, NULL, NULL, TRUE, CREATE_SUSPENDED, NULL, NULL,
                                    &si, &pi);
        free(wide);
        if (capture)
                CloseHandle(capture);
        if (!ok)
                return NULL;
        limit.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        job = CreateJobObjectW(NULL, NULL);
        /* The job's handle stays open until this process ends, and the job with it. */
        if (job && SetInformationJobObject(job, JobObjectExtendedLimitInformation, &limit,
                                           sizeof(limit)))
                (void) AssignProcessToJobObject(job, pi.hProcess);
        (void) ResumeThread(pi.hThread);
        CloseHandle(pi.hThread);
        return pi.hProcess;
}

static DWORD finish(HANDLE process)
{
        DWORD status = 1;

        (void) WaitForSingleObject(process, INFINITE);
        (void) GetExitCodeProcess(process, &status);
        CloseHandle(process);
        return status;
}

/* Runs a command line to its end; its exit status, or an explanation and 1. */
static int run_wsl(const wchar_t *exe, const char *cmdline)
{
        HANDLE process;

        if (strlen(cmdline) >= 32767) {
                say("coding-agents.exe: the command line is longer than Windows allows\n");
                return EXIT_USAGE;
        }
        process = start(exe, cmdline, NULL);
        if (!process) {
                say("coding-agents.exe: cannot run wsl.exe (error %lu)\n", GetLastError());
                return 1;
        }
        return (int) finish(process);
}

/* Reads what a pipe's writer sends until it closes (at most 1 MiB). */
static int read_all(HANDLE h, struct buf *out)
{
        char chunk[4096];
        DWORD n;

        while (ReadFile(h, chunk, sizeof(chunk), &n, NULL) && n > 0) {
                if (out->len + n > (1u << 20) || buf_append(out, chunk, n) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* `wsl.exe --list --verbose`, as UTF-8: wsl.exe writes UTF-16LE to a pipe. */
static int list_distros(const wchar_t *exe, struct wsl_distro *d, size_t max)
{
        _cleanup_buf_ struct buf cmd = BUF_INIT, raw = BUF_INIT;
        SECURITY_ATTRIBUTES sa = {.nLength = sizeof(sa), .bInheritHandle = TRUE};
        HANDLE rd, wr, process;
        char *text;
        int n;

        if (wsl_quote_arg(&cmd, "wsl.exe") < 0 || wsl_quote_arg(&cmd, "--list") < 0 ||
            wsl_quote_arg(&cmd, "--verbose") < 0 || !CreatePipe(&rd, &wr, &sa, 0))
                return -ENOMEM;
        SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0);
        process = start(exe, cmd.data, wr);
        if (!process) {
                CloseHandle(rd);
                return -ENOENT;
        }
        n = read_all(rd, &raw);
        CloseHandle(rd);
        if (finish(process) != 0)
                return -ENODATA;
        if (n < 0)
                return n;
        if (raw.len >= 2 && (raw.data[1] == '\0' || (unsigned char) raw.data[0] == 0xff)) {
                /* UTF-16LE, perhaps with a byte-order mark. */
                size_t skip = (unsigned char) raw.data[0] == 0xff ? 2 : 0;
                wchar_t *w = calloc((raw.len - skip) / 2 + 1, sizeof(*w));

                if (!w)
                        return -ENOMEM;
                memcpy(w, raw.data + skip, (raw.len - skip) / 2 * 2);
                text = utf8_from_wide(w);
                free(w);
        } else {
                text = strdup(raw.data ? raw.data : "");
        }
        if (!text)
                return -EINVAL;
        n = wsl_parse_list(text, strlen(text), d, max);
        free(text);
        return n;
}

/* The distribution to run in, or an explanation and NULL. */
static const struct wsl_distro *choose(const wchar_t *exe, const char *wanted,
                                       struct wsl_distro *d)
{
        int n = list_distros(exe, d, MAX_DISTROS);
        const struct wsl_distro *pick = NULL;

        if (n == -ENOENT) {
                say("coding-agents.exe: WSL is not installed (no wsl.exe): run 'wsl --install' as "
                    "an administrator, then install a release (docs/windows.md)\n");
                return NULL;
        }
        if (n == -ENODATA || n == 0) {
                say("coding-agents.exe: no WSL distribution is installed: run 'wsl --install -d "
                    "Debian', then 'coding-agents.exe install BUNDLE'\n");
                return NULL;
        }
        if (n < 0) {
                say("coding-agents.exe: cannot read what 'wsl.exe --list --verbose' printed\n");
                return NULL;
        }
        for (int i = 0; i < n; i++) {
                if (wanted ? _stricmp(d[i].name, wanted) == 0 : d[i].is_default)
                        pick = &d[i];
        }
        if (!pick) {
                if (wanted)
                        say("coding-agents.exe: no WSL distribution is named '%s';", wanted);
                else
                        say("coding-agents.exe: WSL names no default distribution;");
                say(" set CODING_AGENTS_WSL_DISTRO to one of:");
                for (int i = 0; i < n; i++)
                        say(" %s", d[i].name);
                say("\n");
                return NULL;
        }
        if (pick->version != 2) {
                say("coding-agents.exe: the WSL distribution '%s' runs on WSL 1, and coding-agents "
                    "needs WSL 2 (a real Linux kernel for its containers): run 'wsl --set-version "
                    "%s 2', or pick another with CODING_AGENTS_WSL_DISTRO\n",
                    pick->name, pick->name);
                return NULL;
        }
        return pick;
}

static bool exists_on_windows(const char *relative, void *ctx)
{
        wchar_t *w = wide_from_utf8(relative, strlen(relative)), *slash;
        bool found = false;

        (void) ctx;
        if (!w)
                return false;
        found = GetFileAttributesW(w) != INVALID_FILE_ATTRIBUTES;
        /* A path to create (an output file) is one when its directory exists. */
        slash = wcsrchr(w, L'\\');
        if (!found && slash && slash != w) {
                *slash = L'\0';
                found = GetFileAttributesW(w) != INVALID_FILE_ATTRIBUTES;
        }
        free(w);
        return found;
}

static int fail_arg(const char *arg, const char *why)
{
        say("coding-agents.exe: '%s' %s\n", arg, why);
        return EXIT_USAGE;
}

/* The working directory in the distribution ("" when it cannot be reached: then the home). */
static int translate_cwd(const struct wsl_paths *paths, struct buf *out)
{
        wchar_t cwd[32768];
        DWORD n = GetCurrentDirectoryW(32768, cwd);
        const char *why = NULL;
        char *u;
        int r;

        if (n == 0 || n >= 32768 || !(u = utf8_from_wide(cwd)))
                return 0;
        r = wsl_translate_path(paths, u, out, &why);
        if (r <= 0) {
                buf_reset(out);
                say("coding-agents.exe: the working directory '%s' is not reachable from WSL: the "
                    "command runs in the distribution's home directory\n", u);
        }
        free(u);
        return r == -ENOMEM ? -ENOMEM : 0;
}

struct launch {
        const wchar_t *exe;
        const struct wsl_distro *distro;
        struct wsl_paths paths;
};

/* Runs coding-agents with `args` (UTF-8) in the distribution. */
static int run(const struct launch *l, char **args, int n)
{
        _cleanup_buf_ struct buf cmd = BUF_INIT, cwd = BUF_INIT, arg = BUF_INIT;
        bool translating = true;

        if (translate_cwd(&l->paths, &cwd) < 0 || wsl_quote_arg(&cmd, "wsl.exe") < 0 ||
            wsl_quote_arg(&cmd, "-d") < 0 || wsl_quote_arg(&cmd, l->distro->name) < 0 ||
            wsl_quote_arg(&cmd, "--exec") < 0 || wsl_quote_arg(&cmd, "/bin/sh") < 0 ||
            wsl_quote_arg(&cmd, "-c") < 0 || wsl_quote_arg(&cmd, run_script) < 0 ||
            wsl_quote_arg(&cmd, "coding-agents") < 0 || wsl_quote_arg(&cmd, cwd.data ? cwd.data : "") < 0)
                return say("coding-agents.exe: out of memory\n"), 1;
        for (int i = 0; i < n; i++) {
                const char *why = NULL;
                int r = 0;

                buf_reset(&arg);
                if (translating && strcmp(args[i], "--") == 0)
                        translating = false;
                r = translating ? wsl_translate_arg(&l->paths, args[i], &arg, &why)
                                : buf_append_str(&arg, args[i]);
                if (r == -EINVAL)
                        return fail_arg(args[i], why);
                if (r < 0 || wsl_quote_arg(&cmd, arg.data ? arg.data : "") < 0)
                        return say("coding-agents.exe: out of memory\n"), 1;
        }
        return run_wsl(l->exe, cmd.data);
}

static HANDLE open_read(const char *path)
{
        wchar_t *w = wide_from_utf8(path, strlen(path));
        HANDLE h;

        if (!w)
                return INVALID_HANDLE_VALUE;
        h = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                        FILE_FLAG_SEQUENTIAL_SCAN, NULL);
        free(w);
        return h;
}

static bool file_exists(const char *path)
{
        HANDLE h = open_read(path);

        if (h == INVALID_HANDLE_VALUE)
                return false;
        CloseHandle(h);
        return true;
}

/* The lower-case hex SHA-256 of a file (Windows' own CNG), or -1. */
static int sha256_file(const char *path, char hex[65])
{
        BCRYPT_ALG_HANDLE alg = NULL;
        BCRYPT_HASH_HANDLE hash = NULL;
        unsigned char digest[32];
        static unsigned char chunk[1 << 16];
        HANDLE h = open_read(path);
        DWORD n;
        int r = -1;

        if (h == INVALID_HANDLE_VALUE)
                return -1;
        if (BCryptOpenAlgorithmProvider(&alg, BCRYPT_SHA256_ALGORITHM, NULL, 0) != 0 ||
            BCryptCreateHash(alg, &hash, NULL, 0, NULL, 0, 0) != 0)
                goto out;
        while (ReadFile(h, chunk, sizeof(chunk), &n, NULL) && n > 0) {
                if (BCryptHashData(hash, chunk, n, 0) != 0)
                        goto out;
        }
        if (BCryptFinishHash(hash, digest, sizeof(digest), 0) != 0)
                goto out;
        for (size_t i = 0; i < sizeof(digest); i++)
                (void) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
        r = 0;
out:
        if (hash)
                BCryptDestroyHash(hash);
        if (alg)
                BCryptCloseAlgorithmProvider(alg, 0);
        CloseHandle(h);
        return r;
}

static int read_small(const char *path, struct buf *out)
{
        HANDLE h = open_read(path);
        int r;

        if (h == INVALID_HANDLE_VALUE)
                return -ENOENT;
        r = read_all(h, out);
        CloseHandle(h);
        return r;
}

/* install BUNDLE [options]: the checks this side can make, then install.sh as root. */
static int install(const struct launch *l, char **args, int n)
{
        _cleanup_buf_ struct buf script = BUF_INIT, installer = BUF_INIT, sig = BUF_INIT,
                                 wsl_installer = BUF_INIT, cmd = BUF_INIT, arg = BUF_INIT;
        char name[256], want[80], got[65], *base;
        const char *why = NULL;
        char full[4096];
        wchar_t *wb, wfull[4096];

        if (n < 1 || args[0][0] == '-') {
                say("%s", usage);
                return n >= 1 && (strcmp(args[0], "--help") == 0 || strcmp(args[0], "-h") == 0) ? 0 : EXIT_USAGE;
        }
        wb = wide_from_utf8(args[0], strlen(args[0]));
        if (!wb || GetFullPathNameW(wb, 4096, wfull, NULL) == 0) {
                free(wb);
                return fail_arg(args[0], "is not a path");
        }
        free(wb);
        if (WideCharToMultiByte(CP_UTF8, 0, wfull, -1, full, sizeof(full), NULL, NULL) <= 0)
                return fail_arg(args[0], "is not a path");
        base = strrchr(full, '\\');
        if (!base)
                return fail_arg(args[0], "is not a path");
        if (buf_append(&installer, full, (size_t) (base - full)) < 0 ||
            buf_append_str(&installer, "\\install.sh") < 0 || buf_printf(&sig, "%s.minisig", full) < 0)
                return 1;
        base++;
        if (read_small(installer.data, &script) < 0) {
                say("coding-agents.exe: '%s' not found: the release's install.sh must be beside the "
                    "bundle\n", installer.data);
                return 1;
        }
        if (wsl_installer_field(script.data ? script.data : "", script.len, "BUNDLE_NAME", name, sizeof(name)) < 0 ||
            wsl_installer_field(script.data, script.len, "BUNDLE_SHA256", want, sizeof(want)) < 0 ||
            strlen(want) != 64) {
                say("coding-agents.exe: '%s' is not a release's install.sh\n", installer.data);
                return 1;
        }
        if (_stricmp(name, base) != 0) {
                say("coding-agents.exe: '%s' installs %s, not %s\n", installer.data, name, base);
                return 1;
        }
        if (sha256_file(full, got) < 0) {
                say("coding-agents.exe: cannot read '%s'\n", full);
                return 1;
        }
        if (strcmp(got, want) != 0) {
                say("coding-agents.exe: '%s' does not have the SHA-256 its install.sh was made for: "
                    "refusing it (nothing was run in WSL)\n", full);
                return 1;
        }
        if (!file_exists(sig.data)) {
                say("coding-agents.exe: '%s' not found: the signature must be beside the bundle\n",
                    sig.data);
                return 1;
        }
        if (wsl_translate_path(&l->paths, installer.data, &wsl_installer, &why) != 1)
                return fail_arg(installer.data, why ? why : "cannot be reached from WSL");
        if (wsl_quote_arg(&cmd, "wsl.exe") < 0 || wsl_quote_arg(&cmd, "-d") < 0 ||
            wsl_quote_arg(&cmd, l->distro->name) < 0 || wsl_quote_arg(&cmd, "-u") < 0 ||
            wsl_quote_arg(&cmd, "root") < 0 || wsl_quote_arg(&cmd, "--exec") < 0 ||
            wsl_quote_arg(&cmd, "/bin/sh") < 0 || wsl_quote_arg(&cmd, wsl_installer.data) < 0)
                return 1;
        for (int i = 1; i < n; i++) {
                int r;

                buf_reset(&arg);
                r = wsl_translate_arg(&l->paths, args[i], &arg, &why);

                if (r == -EINVAL)
                        return fail_arg(args[i], why);
                if (r < 0 || wsl_quote_arg(&cmd, arg.data ? arg.data : "") < 0)
                        return 1;
        }
        say("coding-agents.exe: %s has the SHA-256 of its install.sh; installing into WSL "
            "distribution '%s' (install.sh checks the hash and the signature again)\n",
            base, l->distro->name);
        return run_wsl(l->exe, cmd.data);
}

int wmain(int argc, wchar_t **wargv)
{
        struct wsl_distro distros[MAX_DISTROS];
        struct launch l = {0};
        char **args = calloc((size_t) argc + 1, sizeof(*args));
        const char *wanted = NULL, *env_root;
        char *distro_env = NULL, *root_env = NULL;
        wchar_t *exe;
        int first = 1;

        if (!args)
                return 1;
        for (int i = 1; i < argc; i++) {
                if (!(args[i] = utf8_from_wide(wargv[i]))) {
                        say("coding-agents.exe: argument %d is not valid Unicode\n", i);
                        return EXIT_USAGE;
                }
        }
        if (argc == 2 && strcmp(args[1], "--wsl-help") == 0) {
                say("%s", usage);
                return 0;
        }
        if (argc > 1 && strncmp(args[1], "--wsl-distribution=", 19) == 0) {
                wanted = args[1] + 19;
                first = 2;
        } else if (_wgetenv(L"CODING_AGENTS_WSL_DISTRO") && _wgetenv(L"CODING_AGENTS_WSL_DISTRO")[0]) {
                distro_env = utf8_from_wide(_wgetenv(L"CODING_AGENTS_WSL_DISTRO"));
                wanted = distro_env;
        }
        if (_wgetenv(L"CODING_AGENTS_WSL_MOUNT_ROOT"))
                root_env = utf8_from_wide(_wgetenv(L"CODING_AGENTS_WSL_MOUNT_ROOT"));
        env_root = root_env && root_env[0] == '/' && root_env[strlen(root_env) - 1] == '/' ? root_env : "/mnt/";
        (void) SetConsoleCtrlHandler(on_console_event, TRUE);
        exe = wsl_exe();
        if (!exe)
                return 1;
        l.exe = exe;
        l.distro = choose(exe, wanted, distros);
        if (!l.distro)
                return 1;
        l.paths = (struct wsl_paths){.distro = l.distro->name, .mount_root = env_root, .exists = exists_on_windows};
        if (argc <= first)
                return run(&l, NULL, 0);
        if (strcmp(args[first], "install") == 0)
                return install(&l, args + first + 1, argc - first - 1);
        return run(&l, args + first, argc - first);
}
