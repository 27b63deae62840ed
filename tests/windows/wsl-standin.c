/* SPDX-License-Identifier: MIT */
/*
 * A STAND-IN for Windows' wsl.exe, for testing coding-agents.exe under wine (no WSL can run
 * here): cross-compiled with mingw-w64 like the launcher. It records every invocation's
 * arguments as it parsed them (the C runtime's rules, as the real wsl.exe) into
 * $WSL_STANDIN_LOG, one hex-encoded UTF-8 argument per line between "call" and "end", and:
 *
 *   --list --verbose   prints a table like the real one (UTF-16LE) of $WSL_STANDIN_DISTROS,
 *                      "*Debian:2,Old:1" (the star marks the default); with none, the real
 *                      one's message and exit status -1
 *   anything else      exits with $WSL_STANDIN_EXIT (default 0); with $WSL_STANDIN_CTRLC set,
 *                      first prints the console's size ("console=WxH") and
 *                      "waiting-for-ctrl-c", and exits 130 when Ctrl-C arrives (99 after 30 s)
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

static volatile LONG interrupted;

static BOOL WINAPI on_event(DWORD event)
{
        if (event != CTRL_C_EVENT)
                return FALSE;
        InterlockedExchange(&interrupted, 1);
        return TRUE;
}

static void record(int argc, wchar_t **argv)
{
        const wchar_t *path = _wgetenv(L"WSL_STANDIN_LOG");
        FILE *f;

        if (!path || !(f = _wfopen(path, L"ab")))
                return;
        (void) fputs("call\n", f);
        for (int i = 1; i < argc; i++) {
                char utf8[65536];
                int n = WideCharToMultiByte(CP_UTF8, 0, argv[i], -1, utf8, sizeof(utf8), NULL, NULL);

                for (int j = 0; j + 1 < n; j++)
                        (void) fprintf(f, "%02x", (unsigned char) utf8[j]);
                (void) fputs("\n", f);
        }
        (void) fputs("end\n", f);
        (void) fclose(f);
}

static void put16(const wchar_t *s)
{
        DWORD done;

        (void) WriteFile(GetStdHandle(STD_OUTPUT_HANDLE), s, (DWORD) (wcslen(s) * sizeof(*s)),
                         &done, NULL);
}

static int list(void)
{
        const wchar_t *env = _wgetenv(L"WSL_STANDIN_DISTROS");
        wchar_t copy[1024], *ctx = NULL;

        if (!env || !env[0]) {
                put16(L"Windows Subsystem for Linux has no installed distributions.\r\n");
                return -1;
        }
        (void) wcsncpy(copy, env, 1023);
        copy[1023] = L'\0';
        put16(L"  NAME      STATE           VERSION\r\n");
        for (wchar_t *e = wcstok_s(copy, L",", &ctx); e; e = wcstok_s(NULL, L",", &ctx)) {
                wchar_t row[256], *colon = wcschr(e, L':');
                int is_default = e[0] == L'*';

                if (!colon)
                        continue;
                *colon = L'\0';
                (void) swprintf(row, 256, L"%ls %-9ls %-15ls %ls\r\n", is_default ? L"*" : L" ",
                                e + is_default, is_default ? L"Running" : L"Stopped", colon + 1);
                put16(row);
        }
        return 0;
}

static int wait_for_ctrl_c(void)
{
        CONSOLE_SCREEN_BUFFER_INFO info;

        (void) SetConsoleCtrlHandler(on_event, TRUE);
        if (GetConsoleScreenBufferInfo(GetStdHandle(STD_OUTPUT_HANDLE), &info))
                (void) printf("console=%dx%d\n", info.srWindow.Right - info.srWindow.Left + 1,
                              info.srWindow.Bottom - info.srWindow.Top + 1);
        else
                (void) printf("console=none\n");
        (void) printf("waiting-for-ctrl-c\n");
        (void) fflush(stdout);
        for (int i = 0; i < 1500 && !interrupted; i++)
                Sleep(20);
        return interrupted ? 130 : 99;
}

int wmain(int argc, wchar_t **argv)
{
        const wchar_t *code = _wgetenv(L"WSL_STANDIN_EXIT");

        record(argc, argv);
        if (argc == 3 && wcscmp(argv[1], L"--list") == 0 && wcscmp(argv[2], L"--verbose") == 0)
                return list();
        if (_wgetenv(L"WSL_STANDIN_CTRLC"))
                return wait_for_ctrl_c();
        return code ? _wtoi(code) : 0;
}
