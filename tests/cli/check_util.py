# Helpers shared by the CLI test scripts: recorded checks, running ortool, the one-error-line rule.
import subprocess

FAILS = []


def check(cond, what, detail=""):
    """Prints ok/FAIL for one check (and `detail` under a failure) and remembers failures (the script
    exits 1 when there are any)."""
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)
        if detail:
            print("     " + str(detail).strip().replace("\n", "\n     "))


def run(ortool, *args, timeout=120):
    p = subprocess.run([ortool, *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def one_error_line(code, err, expect_code=2, must_name=None):
    """The exit code is `expect_code` and stderr is one `ortool: error:` line (naming `must_name`)."""
    lines = [l for l in err.splitlines() if l.strip()]
    ok = code == expect_code and len(lines) == 1 and lines[0].startswith("ortool: error:")
    if must_name is not None:
        ok = ok and must_name in lines[0]
    return ok
