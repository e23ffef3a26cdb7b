#!/usr/bin/env python3
"""From a staged install tree, write the NSIS include files that tessera.nsi needs, so that the installer
packages exactly what the build staged and the uninstaller removes exactly those files (and only the folders
that end up empty: anything a user put there stays).

Usage: nsis-lists.py STAGE_DIR OUT_DIR
  OUT_DIR/staged-install.nsh    SetOutPath + File lines, folder by folder
  OUT_DIR/staged-uninstall.nsh  Delete lines, then RMDir of every folder, deepest first
  OUT_DIR/staged-defs.nsh       STAGED_SIZE_KB, STAGED_FILES, and HAVE_GUI when bin/tessera.exe is staged
"""
import os
import sys


def nsis_str(s):
    # NSIS expands $ in strings; $$ is a literal dollar. Double quotes inside quotes need $\".
    return s.replace('$', '$$').replace('"', '$\\"')


def main():
    stage, out = os.path.abspath(sys.argv[1]), sys.argv[2]
    os.makedirs(out, exist_ok=True)
    install, uninstall, dirs = [], [], []
    total, count = 0, 0
    for root, subdirs, files in os.walk(stage):
        subdirs.sort()
        rel = os.path.relpath(root, stage)
        win_rel = '' if rel == '.' else '\\' + rel.replace('/', '\\')
        if rel != '.':
            dirs.append(win_rel)
        if not files:
            continue
        install.append('SetOutPath "$INSTDIR%s"' % nsis_str(win_rel))
        for name in sorted(files):
            path = os.path.join(root, name)
            if os.path.islink(path) or not os.path.isfile(path):
                sys.exit('nsis-lists: %s: not a regular file' % path)
            total += os.path.getsize(path)
            count += 1
            install.append('File "%s"' % nsis_str(path))
            uninstall.append('Delete "$INSTDIR%s\\%s"' % (nsis_str(win_rel), nsis_str(name)))
    if count == 0:
        sys.exit('nsis-lists: nothing staged in %s' % stage)
    for d in sorted(dirs, key=lambda d: d.count('\\'), reverse=True):
        uninstall.append('RMDir "$INSTDIR%s"' % nsis_str(d))
    with open(os.path.join(out, 'staged-install.nsh'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(install) + '\n')
    with open(os.path.join(out, 'staged-uninstall.nsh'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(uninstall) + '\n')
    with open(os.path.join(out, 'staged-defs.nsh'), 'w', encoding='utf-8') as f:
        f.write('!define STAGED_SIZE_KB %d\n' % ((total + 1023) // 1024))
        f.write('!define STAGED_FILES %d\n' % count)
        if os.path.isfile(os.path.join(stage, 'bin', 'tessera.exe')):
            f.write('!define HAVE_GUI\n')


if __name__ == '__main__':
    main()
