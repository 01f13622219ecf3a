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


def nested_ifs(leaf, depth, cond, operand, prefix=""):
    """`depth` If nodes nested in each other's then-branch, the outermost returned: level L is node
    '{prefix}if_L' with output '{prefix}oL', its else-branch Identity(operand); the innermost then-branch
    holds `leaf`, whose output must be '{prefix}o0'. Only the then-branch nests (both would double the
    model at every level)."""
    from onnx import TensorProto, helper
    inner = helper.make_graph([leaf], f"{prefix}level_0", [],
                              [helper.make_tensor_value_info(f"{prefix}o0", TensorProto.FLOAT, None)])
    for level in range(1, depth + 1):
        other = helper.make_graph([helper.make_node("Identity", [operand], [f"{prefix}e{level}"])],
                                  f"{prefix}else_{level}", [],
                                  [helper.make_tensor_value_info(f"{prefix}e{level}", TensorProto.FLOAT, None)])
        node = helper.make_node("If", [cond], [f"{prefix}o{level}"], name=f"{prefix}if_{level}", then_branch=inner,
                                else_branch=other)
        inner = helper.make_graph([node], f"{prefix}level_{level}", [],
                                  [helper.make_tensor_value_info(f"{prefix}o{level}", TensorProto.FLOAT, None)])
    return inner.node[0]
