#!/usr/bin/env python3
"""`meson install --destdir` puts every program, man page, the systemd
unit and the licence where a package expects them; each man page lists every option the
program's --help lists; the installed unit passes `systemd-analyze verify`
(skipped, visibly, where systemd-analyze is missing).
Usage: install_test.py MESON BUILD_DIR BINDIR MANDIR UNITDIR DOCDIR [--no-man]
(the directories absolute, as installed; --no-man: the build made no man
pages because help2man is missing, so their check is skipped)"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

PROGRAMS = ["gotit-reactor", "gotit-blocking", "gotit-client", "gotit-bench"]
# gotit-bench keeps its options in its subcommands.
HELP_COMMANDS = {"gotit-bench": [["--help"], ["run", "--help"], ["compare", "--help"]]}


def options_in_help(binary, name):
    options = set()
    for args in HELP_COMMANDS.get(name, [["--help"]]):
        text = subprocess.run([binary, *args], capture_output=True, text=True, check=True).stdout
        for line in text.splitlines():
            # "  -p,--port TEXT   ..." : the names before the first space run.
            match = re.match(r"^\s+(-[-\w,]+)", line)
            if match:
                options.update(o for o in match.group(1).split(",") if o.startswith("-"))
    return options


def man_text(path):
    with open(path) as f:
        roff = f.read()
    return re.sub(r"\\f[BIRP]|\\/|\\,", "", roff).replace("\\-", "-")


def main(meson, build_dir, bindir, mandir, unitdir, docdir, with_man):
    with tempfile.TemporaryDirectory() as dest:
        subprocess.run([meson, "install", "-C", build_dir, "--no-rebuild", "--destdir", dest],
                       check=True, stdout=subprocess.DEVNULL)
        root = lambda path: dest + path  # noqa: E731  (an absolute path inside dest)
        for name in PROGRAMS:
            binary = os.path.join(root(bindir), name)
            assert os.access(binary, os.X_OK), f"{binary} is missing or not executable"
            if not with_man:
                print(f"{name}: binary: ok; SKIPPED: its man page (help2man is not installed)")
                continue
            page = os.path.join(root(mandir), "man1", name + ".1")
            assert os.path.isfile(page), f"{page} is missing"
            text = man_text(page)
            options = options_in_help(binary, name)
            assert len(options) >= 2, f"{name}: found no options in --help"
            missing = sorted(o for o in options if not re.search(re.escape(o) + r"(?![\w-])", text))
            assert not missing, f"{page} lacks {missing}"
            print(f"{name}: binary, man page with all {len(options)} options: ok")
        unit = os.path.join(root(unitdir), "gotit-reactor.service")
        assert os.path.isfile(unit), f"{unit} is missing"
        with open(unit) as f:
            unit_text = f.read()
        exec_start = os.path.join(bindir, "gotit-reactor")
        assert f"ExecStart={exec_start} " in unit_text, f"the unit does not start {exec_start}"
        print(f"unit in {unitdir}: ok")
        licence = os.path.join(root(docdir), "LICENSE")
        assert os.path.isfile(licence), f"{licence} is missing"
        print(f"licence in {docdir}: ok")
        verify_unit(unit_text, exec_start, root(bindir), os.path.join(dest, mandir.lstrip("/")), dest)


def verify_unit(unit_text, exec_start, dest_bindir, dest_mandir, dest):
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        print("SKIPPED: systemd-analyze verify (systemd-analyze is not installed)")
        return
    # verify checks that ExecStart exists and that man:gotit-reactor(1) is
    # found: point both at the destdir copy.
    local = os.path.join(dest, "gotit-reactor.service")
    with open(local, "w") as f:
        f.write(unit_text.replace(exec_start, os.path.join(dest_bindir, "gotit-reactor")))
    man_check = [] if shutil.which("man") else ["--man=no"]
    if man_check:
        print("SKIPPED: verify's man page lookup (man is not installed)")
    result = subprocess.run([analyze, "verify", *man_check, local], capture_output=True, text=True,
                            env={**os.environ, "MANPATH": dest_mandir})
    assert result.returncode == 0 and not result.stderr.strip(), \
        f"systemd-analyze verify:\n{result.stdout}{result.stderr}"
    print("systemd-analyze verify (with the man page from the destdir): ok")


if __name__ == "__main__":
    main(*sys.argv[1:7], with_man="--no-man" not in sys.argv[7:])
