"""How Asterisk reads an Originate's ``Variable:`` header: a port of its argument splitter.

Asterisk splits each header at commas (except inside (), [] or ""), removes
double quotes, and takes a backslash to mean "the next character as it is";
each piece is NAME=value. olive's AMI layer escapes values so that they
arrive intact; the simulator splits them exactly as Asterisk does.
"""

from __future__ import annotations


def split_variables(header_value: str) -> list[tuple[str, str]]:
    """The variables Asterisk 22 sets from one ``Variable:`` header value.

    A port of man_do_variable_value (main/manager.c), which splits the value
    with AST_STANDARD_APP_ARGS, i.e. __ast_app_separate_args(parse, ',', 1, ..)
    (main/app.c): commas separate assignments unless inside (), [] or "";
    double quotes are removed; a backslash is removed and makes the next
    character literal. Each piece is NAME=value, split at the first '='.
    """
    s = header_value.lstrip(" \t")  # ast_skip_blanks
    args: list[str] = []
    paren = bracket = 0
    quote = False
    i, n = 0, len(s)
    ended_on_delim = False
    while i < n and len(args) < 64 - 1:
        arg: list[str] = []
        ended_on_delim = False
        while i < n:
            c = s[i]
            if c == "(":
                paren += 1
            elif c == ")" and paren:
                paren -= 1
            elif c == "[":
                bracket += 1
            elif c == "]" and bracket:
                bracket -= 1
            elif c == '"':
                quote = not quote
                i += 1
                continue  # removed
            elif c == "\\":
                i += 1  # removed; the next character is kept as it is
                if i < n:
                    arg.append(s[i])
                i += 1
                continue
            elif c == "," and not paren and not quote and not bracket:
                i += 1
                ended_on_delim = True
                break
            arg.append(c)
            i += 1
        args.append("".join(arg))
    if i < n:
        args.append(s[i:])
    elif ended_on_delim:
        args.append("")
    out = []
    for a in args:
        var, eq, val = a.partition("=")
        if eq and var:
            out.append((var, val))
    return out


__all__ = ["split_variables"]
