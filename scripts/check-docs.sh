#!/usr/bin/env bash
# Checks that the documentation is self-contained:
#  - every relative link and `#anchor` in README.md and docs/*.md resolves to a file or a heading
#    in the repository (GitHub's anchor rules: lowercase, spaces to `-`, punctuation dropped,
#    `-1`, `-2` … for repeated headings);
#  - nothing under Sources/, Tests/, docs/, scripts/ or README.md cites the two contract documents
#    that are not part of the repository: docs/ is the one reference.
# Prints `file:line: what` for each problem; exit 1 if there is any. Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - <<'PY'
import os, re, sys, unicodedata
from urllib.parse import unquote

problems = []
def report(path, line, what):
    problems.append(f"{path}:{line}: {what}")

FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")

def lines_outside_fences(text):
    """(line number, line) for lines not inside fenced code blocks."""
    fence = None
    for number, line in enumerate(text.split("\n"), 1):
        m = FENCE.match(line)
        if m:
            marker = m.group(1)
            if fence is None:
                fence = marker
                continue
            if marker[0] == fence[0] and len(marker) >= len(fence):
                fence = None
                continue
        if fence is None:
            yield number, line

def strip_code_spans(line):
    return re.sub(r"(`+)(.+?)\1", lambda m: " " * len(m.group(0)), line)

def slug(heading):
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links → their text
    text = re.sub(r"<[^>]+>", "", text)                        # inline HTML tags
    text = text.replace("`", "").replace("*", "")
    text = text.strip().lower()
    out = []
    for ch in text:
        if ch in (" ", "-", "_") or ch.isalnum() or unicodedata.category(ch).startswith("M"):
            out.append("-" if ch == " " else ch)
    return "".join(out)

anchor_cache = {}
def anchors(path):
    if path not in anchor_cache:
        found, seen = set(), {}
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for _, line in lines_outside_fences(text):
            m = re.match(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$", line)
            if m:
                base = slug(m.group(2))
                n = seen.get(base, 0)
                seen[base] = n + 1
                found.add(base if n == 0 else f"{base}-{n}")
            for a in re.findall(r"<a\s+(?:name|id)=\"([^\"]+)\"", line):
                found.add(a)
        anchor_cache[path] = found
    return anchor_cache[path]

LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFDEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")
root = os.path.realpath(".")

def check_link(path, number, target):
    if not target or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith("//"):
        return  # empty, or an absolute URL (http:, https:, mailto:, …)
    file_part, _, anchor = target.partition("#")
    file_part = unquote(file_part)
    if file_part:
        resolved = os.path.realpath(os.path.join(os.path.dirname(path), file_part))
        if resolved != root and not resolved.startswith(root + os.sep):
            report(path, number, f"link `{target}` leaves the repository")
            return
        if not os.path.exists(resolved):
            report(path, number, f"link `{target}`: no such file in the repository")
            return
    else:
        resolved = os.path.realpath(path)
    if anchor:
        if not resolved.endswith(".md") or not os.path.isfile(resolved):
            report(path, number, f"link `{target}`: an anchor into a file that is not Markdown")
        elif unquote(anchor) not in anchors(resolved):
            shown = os.path.relpath(resolved, root)
            report(path, number, f"link `{target}`: no heading `#{anchor}` in {shown}")

docs = ["README.md"] if os.path.isfile("README.md") else []
for dirpath, _, files in os.walk("docs"):
    docs += [os.path.join(dirpath, f) for f in sorted(files) if f.endswith(".md")]

for path in docs:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for number, line in lines_outside_fences(text):
        m = REFDEF.match(line)
        if m:
            check_link(path, number, m.group(1))
            continue
        for target in LINK.findall(strip_code_spans(line)):
            check_link(path, number, target)

# The contracts' names, spelled so that this file does not match itself.
CONTRACTS = re.compile(r"\b(runtime|rules-language)[.]md\b")
scan = ["README.md"] if os.path.isfile("README.md") else []
for top in ("Sources", "Tests", "docs", "scripts"):
    for dirpath, dirs, files in os.walk(top):
        dirs.sort()
        scan += [os.path.join(dirpath, f) for f in sorted(files)]
for path in scan:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (UnicodeDecodeError, OSError):
        continue
    for number, line in enumerate(text.split("\n"), 1):
        for m in CONTRACTS.finditer(line):
            report(path, number, f"cites `{m.group(0)}`, which is not in the repository; cite the file and heading in docs/ instead")

for p in problems:
    print(p)
sys.exit(1 if problems else 0)
PY
