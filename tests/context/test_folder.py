"""A folder as the context: a lazy mapping of relative path -> text in the jailed REPL."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlm_toolkit.engine.context import prepare_context
from rlm_toolkit.errors import ConfigError
from rlm_toolkit.folders import open_folder
from rlm_toolkit.testing import ScriptedLLM
from tests.helpers import make_rlm, repl


def make_repo(root: Path) -> Path:
    """A repo-like tree: code, docs, a binary file, a .gitignore and what it ignores."""
    repo = root / "repo"
    (repo / "src" / "pkg").mkdir(parents=True)
    (repo / "docs").mkdir()
    (repo / "build").mkdir()
    (repo / ".git").mkdir()
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (repo / ".gitignore").write_text("build/\n*.log\n")
    (repo / "src" / "pkg" / ".gitignore").write_text("secret.txt\n")
    (repo / "src" / "pkg" / "a.py").write_text("def answer():\n    return 4217\n")
    (repo / "src" / "pkg" / "secret.txt").write_text("ignored by the nested .gitignore\n")
    (repo / "src" / "b.py").write_text("import pkg\n")
    (repo / "docs" / "guide.md").write_text("# Guide\nThe launch code is 7781.\n")
    (repo / "build" / "out.txt").write_text("ignored\n")
    (repo / "run.log").write_text("ignored\n")
    (repo / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)))
    return repo


def test_listing_respects_gitignore_and_skips_binary(tmp_path: Path) -> None:
    folder = open_folder(make_repo(tmp_path))
    assert sorted(folder) == ["repo/.gitignore", "repo/docs/guide.md", "repo/src/b.py",
                              "repo/src/pkg/.gitignore", "repo/src/pkg/a.py"]
    assert folder.skipped == ["repo/logo.png"]
    assert folder["repo/src/pkg/a.py"] == "def answer():\n    return 4217\n"
    with pytest.raises(KeyError):
        folder["repo/build/out.txt"]


def test_a_file_is_read_when_asked_not_when_listed(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    folder = open_folder(repo)
    (repo / "src" / "b.py").write_text("changed after listing\n")
    assert folder["repo/src/b.py"] == "changed after listing\n"


def test_root_prompt_describes_the_tree_not_the_content(tmp_path: Path) -> None:
    prepared = prepare_context(make_repo(tmp_path))
    shown = prepared.info.render()
    assert "5 text files" in shown and "1 binary files skipped" in shown
    assert "repo/src/pkg/a.py" in shown and "repo/logo.png" in shown
    assert "4217" not in shown and "7781" not in shown
    assert b"4217" not in prepared.encoded.data  # the worker gets paths and sizes only


def test_several_paths_and_a_glob(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    folder = open_folder(["repo/docs", "repo/src/**/*.py"])
    assert sorted(folder) == ["repo/docs/guide.md", "repo/src/b.py", "repo/src/pkg/a.py"]
    with pytest.raises(ConfigError, match="matches no file"):
        open_folder("nothing/*.md")


def test_the_jailed_repl_reads_files_from_the_mapping(tmp_path: Path) -> None:
    code = ("from collections.abc import Mapping\n"
            "print(isinstance(context, Mapping), len(context), sorted(context)[:2])\n"
            "print(context.skipped)\n"
            "hit = [p for p in context if '7781' in context[p]]\n"
            "print(hit)")
    root = ScriptedLLM([repl(code), repl("FINAL(hit[0])")])
    result = make_rlm(root).run(context=make_repo(tmp_path), query="Which file has the code?")
    assert result.answer == "repo/docs/guide.md", result.error
    shown = root.requests[1][-1]["content"]
    assert "True 5 ['repo/.gitignore', 'repo/docs/guide.md']" in shown
    assert "['repo/logo.png']" in shown
    assert "7781" not in root.requests[0][-1]["content"]  # the first prompt: the tree only


def test_local_only_egress_holds_back_a_folders_files(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    (repo / "docs" / "private.md").write_text("Patient record 55123: " + "confidential " * 40)
    code = ("text = context['repo/docs/private.md']\n"
            "print(llm('Summarise: ' + text)[:80])")
    root = ScriptedLLM([repl(code), repl("FINAL('done')")])
    sub = ScriptedLLM(lambda messages: "a summary")
    result = make_rlm(root, sub, egress="local-only").run(context=repo, query="Summarise it")
    assert result.answer == "done"
    assert all("Patient record 55123" not in str(m) for m in sub.requests)
    assert "use a local sub model" in root.requests[1][-1]["content"]


def test_a_folder_without_text_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "only.bin").write_bytes(b"\0\1")
    with pytest.raises(ConfigError, match=r"has no text files \(only binary ones: .*only.bin\)"):
        open_folder(tmp_path)


def test_a_file_over_the_read_limit_is_read_in_parts(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import rlm_toolkit.folders.tree as tree

    monkeypatch.setattr(tree, "MAX_READ_BYTES", 1_000)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "big.log").write_text("x" * 4_000 + "ERROR 81 at the end\n")
    code = ("try:\n    context['logs/big.log']\nexcept Exception as exc:\n    print(exc)\n"
            "print(context.sizes['logs/big.log'], context.read('logs/big.log', 4_000, 9))")
    root = ScriptedLLM([repl(code), repl("FINAL('ok')")])
    make_rlm(root).run(context=tmp_path / "logs", query="What is the error?")
    shown = root.requests[1][-1]["content"]
    assert "logs/big.log is 4,020 bytes; one read returns at most 1,000" in shown
    assert "context.read('logs/big.log', start, size)" in shown
    assert "4020 ERROR 81" in shown
