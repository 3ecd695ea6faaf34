"""Line-level repairs after ruamel's dump, so the diff shows the change and nothing else.

ruamel keeps comments but attaches a comment line to the key *before* it, and an end-of-line
comment to a column. So an edit can move a comment that belongs to the next key, or re-pad the
gap before `# ...`. These functions compare the original and edited lines and undo exactly that.
"""

from __future__ import annotations

import difflib
import re

def splice(original: str, before: str, after: str) -> str:
    """`original` with the before→after changes applied to its own lines.

    `before` is ruamel's dump of the unchanged document. Where it equals the original (the usual
    case) this is just `after`; where ruamel normalised something elsewhere, only the hunks of the
    real change are carried over, so that normalisation never reaches the diff.
    """
    if before == original:
        return after
    orig, old, new = (t.splitlines(keepends=True) for t in (original, before, after))
    to_orig: dict[int, int] = {}
    for block in difflib.SequenceMatcher(None, orig, old, autojunk=False).get_matching_blocks():
        for k in range(block.size + 1):  # +1: the boundary just past a matching block maps too
            to_orig.setdefault(block.b + k, block.a + k)
    result: list[str] = []
    cursor = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if i1 not in to_orig or i2 not in to_orig:
            return after  # the change touches lines ruamel rewrote: the dump is the honest result
        start, end = to_orig[i1], to_orig[i2]
        result += orig[cursor:start] + new[j1:j2]
        cursor = end
    return "".join(result + orig[cursor:])


def tidy(original: str, changed: str) -> str:
    return _keep_comment_gaps(original, _keep_comments_in_place(original, changed))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _keep_comments_in_place(original: str, changed: str) -> str:
    """Comment lines that introduce the next key stay with it.

    - An inserted block that lands below such comments (less indented than the block: they lead
      into an outer key) goes above them.
    - A deleted block does not take such trailing comments with it.
    """
    old, new = original.splitlines(keepends=True), changed.splitlines(keepends=True)
    result: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "insert":
            block = new[j1:j2]
            moved = 0
            while moved < len(result) and _is_comment(result[-1 - moved]) \
                    and _indent(result[-1 - moved]) < _indent(block[0]):
                moved += 1
            result[len(result) - moved:len(result) - moved] = block
        elif tag == "delete":
            block = old[i1:i2]
            keep = 0
            while keep < len(block) and _is_comment(block[-1 - keep]) and _indent(block[-1 - keep]) <= _indent(block[0]):
                keep += 1
            result += block[len(block) - keep:]
        else:
            result += new[j1:j2]
    return "".join(result)


_EOL_COMMENT = re.compile(r"^(?P<code>.*?\S)(?P<gap>[ \t]+)(?P<comment>#.*)$")


def _keep_comment_gaps(original: str, changed: str) -> str:
    """Keep the author's spacing before an end-of-line comment on a changed line.

    ruamel keeps a comment's column, so a longer value squeezes the gap to one space and a shorter
    one pads it; either way the line reads as reformatted. The author's gap is what they chose.
    """
    old, new = original.splitlines(keepends=True), changed.splitlines(keepends=True)
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag != "replace" or i2 - i1 != j2 - j1:
            continue
        for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
            before, after = _EOL_COMMENT.match(old[i].rstrip("\r\n")), _EOL_COMMENT.match(new[j].rstrip("\r\n"))
            if before and after and before["comment"] == after["comment"]:
                ending = new[j][len(new[j].rstrip("\r\n")):]
                new[j] = after["code"] + before["gap"] + after["comment"] + ending
    return "".join(new)


