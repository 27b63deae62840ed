# SPDX-License-Identifier: MIT
# For those who expect a PowerShell entry point: it forwards to coding-agents.exe beside it, which
# does everything (docs/windows.md). PowerShell 7.3+ passes the arguments as they are.
& (Join-Path $PSScriptRoot 'coding-agents.exe') @args; exit $LASTEXITCODE
