"""What the lockdown still lets ordinary analysis code do in scratch, and how the calls it
refuses fail (with an error the code can handle, never a dead worker)."""

from __future__ import annotations

from .conftest import repl, run_script

WORK = """
import ctypes, os, shutil, sqlite3, tempfile
con = sqlite3.connect('notes.db')  # file locks, journal files
con.execute('create table t (x)')
con.executemany('insert into t values (?)', [(i,) for i in range(100)])
con.commit()
out = [con.execute('select sum(x) from t').fetchone()[0]]
with tempfile.TemporaryFile() as fh:  # O_TMPFILE or a named file unlinked at once
    fh.write(b'abc'); fh.seek(0); out.append(fh.read().decode())
with tempfile.TemporaryDirectory(dir='.') as folder:
    open(os.path.join(folder, 'a.txt'), 'w').write('copied')
    shutil.copyfile(os.path.join(folder, 'a.txt'), 'b.txt')
out.append(open('b.txt').read())
callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(lambda x: x + 1)  # libffi closure
out.append(callback(41))
def refused(fn):
    try:
        fn()
    except OSError as exc:
        return exc.errno
    return 'allowed'
out.append(refused(lambda: os.chmod('b.txt', 0o600)))
out.append(refused(lambda: os.utime('b.txt')))
out.append(refused(lambda: shutil.copy('b.txt', 'c.txt')))
out.append(refused(lambda: os.setxattr('b.txt', 'user.k', b'v')))
FINAL(repr(out))
"""


def test_scratch_work_runs_and_refused_metadata_calls_fail_cleanly(tier: str) -> None:
    outcome = run_script([repl(WORK)], sandbox=tier)
    # sqlite, temporary files and folders, copyfile and ctypes callbacks work; chmod, utime,
    # shutil.copy (which copies the mode) answer EPERM, xattrs EOPNOTSUPP (95).
    assert outcome.result.answer == "[4950, 'abc', 'copied', 42, 1, 1, 1, 95]", \
        (outcome.result.answer, outcome.feedback(1)[-2000:])
