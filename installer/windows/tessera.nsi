; Tessera installer for Windows (NSIS 3, 64-bit, Unicode).
; Built by installer/windows/build-installer.sh, which stages the build, generates the file lists
; (nsis-lists.py) and calls
;   makensis /DVERSION=<meson version> /DLISTS=<dir with staged-*.nsh> /DICON=<tessera.ico> /DOUTFILE=<exe> tessera.nsi
;
; Install modes (MultiUser.nsh): per-user (default; %LOCALAPPDATA%\Programs\Tessera, HKCU, no admin rights)
; or all users (Program Files, HKLM; needs an administrator). Command line:
;   /S                 silent
;   /CurrentUser       per-user install (default)
;   /AllUsers          all-users install
;   /DesktopShortcut   also create a desktop shortcut (off by default)
;   /NoAssociation     do not register the .latent file type
;   /D=C:\path         install folder (must be last, unquoted, as with every NSIS installer)
; The uninstaller (uninstall.exe, registered in Apps & Features) accepts /S and the same mode switch.
; It removes exactly the files this installer wrote, its shortcuts and its registry keys; the per-user data
; folder (%LOCALAPPDATA%\Tessera: models, settings) belongs to the user and is kept.

Unicode true
Target amd64-unicode
ManifestDPIAware true
SetCompressor /SOLID lzma

!ifndef VERSION | LISTS | ICON | OUTFILE
  !error "pass /DVERSION=, /DLISTS=, /DICON= and /DOUTFILE= (installer/windows/build-installer.sh does)"
!endif

!define APP_NAME "Tessera"
!define PUBLISHER "The Tessera developers"
!define APP_KEY "Software\Tessera"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\Tessera"
!define PROGID "Tessera.Latent"
!define SM_FOLDER "$SMPROGRAMS\Tessera"

!include /CHARSET=UTF8 "${LISTS}\staged-defs.nsh"

Name "${APP_NAME} ${VERSION}"
OutFile "${OUTFILE}"
BrandingText "${APP_NAME} ${VERSION}"
ShowInstDetails show
ShowUninstDetails show

; 4-part numeric version for the installer's own version resource.
!searchparse /noerrors "${VERSION}" "" V_MAJ "." V_MIN "." V_PAT
!ifndef V_PAT
  !define V_PAT 0
!endif
VIProductVersion "${V_MAJ}.${V_MIN}.${V_PAT}.0"
VIAddVersionKey /LANG=1033 "ProductName" "${APP_NAME}"
VIAddVersionKey /LANG=1033 "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=1033 "CompanyName" "${PUBLISHER}"
VIAddVersionKey /LANG=1033 "FileDescription" "${APP_NAME} installer"
VIAddVersionKey /LANG=1033 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=1033 "LegalCopyright" "Apache-2.0 licensed"

!define MULTIUSER_EXECUTIONLEVEL Highest
!define MULTIUSER_MUI
!define MULTIUSER_INSTALLMODE_COMMANDLINE
!define MULTIUSER_INSTALLMODE_DEFAULT_CURRENTUSER
!define MULTIUSER_USE_PROGRAMFILES64
!define MULTIUSER_INSTALLMODE_INSTDIR "Tessera"
!define MULTIUSER_INSTALLMODE_INSTDIR_REGISTRY_KEY "${APP_KEY}"
!define MULTIUSER_INSTALLMODE_INSTDIR_REGISTRY_VALUENAME "InstallDir"
!define MULTIUSER_INSTALLMODE_DEFAULT_REGISTRY_KEY "${APP_KEY}"
!define MULTIUSER_INSTALLMODE_DEFAULT_REGISTRY_VALUENAME "InstallMode"
!include MultiUser.nsh
!include MUI2.nsh
!include LogicLib.nsh
!include FileFunc.nsh
!include Sections.nsh

!define MUI_ICON "${ICON}"
!define MUI_UNICON "${ICON}"
!define MUI_ABORTWARNING
!ifdef HAVE_GUI
  !define MUI_FINISHPAGE_RUN "$INSTDIR\bin\tessera.exe"
  !define MUI_FINISHPAGE_RUN_TEXT "Start Tessera"
!endif

!insertmacro MULTIUSER_PAGE_INSTALLMODE
!insertmacro MUI_PAGE_COMPONENTS
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

Var ModeSwitch ; "/CurrentUser" or "/AllUsers", written into the uninstall command lines

Section "Tessera (required)" SecMain
  SectionIn RO
  !include /CHARSET=UTF8 "${LISTS}\staged-install.nsh"
  SetOutPath "$INSTDIR"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  ${If} $MultiUser.InstallMode == "AllUsers"
    StrCpy $ModeSwitch "/AllUsers"
  ${Else}
    StrCpy $ModeSwitch "/CurrentUser"
  ${EndIf}
  WriteRegStr SHCTX "${APP_KEY}" "InstallDir" "$INSTDIR"
  WriteRegStr SHCTX "${APP_KEY}" "InstallMode" "$MultiUser.InstallMode"
  WriteRegStr SHCTX "${APP_KEY}" "Version" "${VERSION}"

  WriteRegStr SHCTX "${UNINST_KEY}" "DisplayName" "${APP_NAME}"
  WriteRegStr SHCTX "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr SHCTX "${UNINST_KEY}" "Publisher" "${PUBLISHER}"
  WriteRegStr SHCTX "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\bin\tessera-cli.exe,0"
  WriteRegStr SHCTX "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr SHCTX "${UNINST_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe" $ModeSwitch'
  WriteRegStr SHCTX "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S $ModeSwitch'
  WriteRegDWORD SHCTX "${UNINST_KEY}" "EstimatedSize" ${STAGED_SIZE_KB}
  WriteRegDWORD SHCTX "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD SHCTX "${UNINST_KEY}" "NoRepair" 1

  ; Start menu. Shortcuts start in the user's profile folder, so outputs never land in Program Files.
  CreateDirectory "${SM_FOLDER}"
  SetOutPath "$PROFILE"
!ifdef HAVE_GUI
  CreateShortcut "${SM_FOLDER}\Tessera.lnk" "$INSTDIR\bin\tessera.exe" "" "$INSTDIR\bin\tessera.exe" 0
!endif
  CreateShortcut "${SM_FOLDER}\Tessera command line.lnk" "$SYSDIR\cmd.exe" \
    '/k set "PATH=$INSTDIR\bin;%PATH%" && tessera-cli.exe --help' "$INSTDIR\bin\tessera-cli.exe" 0
  SetOutPath "$INSTDIR"
SectionEnd

Section "Open .latent files with Tessera" SecAssoc
  WriteRegStr SHCTX "Software\Classes\${PROGID}" "" "Tessera latent"
  WriteRegStr SHCTX "Software\Classes\${PROGID}\DefaultIcon" "" "$INSTDIR\bin\tessera-cli.exe,0"
!ifdef HAVE_GUI
  WriteRegStr SHCTX "Software\Classes\${PROGID}\shell\open\command" "" '"$INSTDIR\bin\tessera.exe" "%1"'
!else
  ; Command line only: show what the file holds in a console that stays open.
  WriteRegStr SHCTX "Software\Classes\${PROGID}\shell\open\command" "" \
    '"$SYSDIR\cmd.exe" /k ""$INSTDIR\bin\tessera-cli.exe" info "%1""'
!endif
  WriteRegStr SHCTX "Software\Classes\.latent\OpenWithProgids" "${PROGID}" ""
  ; Take the default only when no other program owns .latent.
  ReadRegStr $0 SHCTX "Software\Classes\.latent" ""
  ${If} $0 == ""
    WriteRegStr SHCTX "Software\Classes\.latent" "" "${PROGID}"
  ${EndIf}
  System::Call 'shell32::SHChangeNotify(i 0x08000000, i 0, p 0, p 0)'
SectionEnd

Section /o "Desktop shortcut" SecDesktop
  SetOutPath "$PROFILE"
!ifdef HAVE_GUI
  CreateShortcut "$DESKTOP\Tessera.lnk" "$INSTDIR\bin\tessera.exe" "" "$INSTDIR\bin\tessera.exe" 0
!else
  CreateShortcut "$DESKTOP\Tessera command line.lnk" "$SYSDIR\cmd.exe" \
    '/k set "PATH=$INSTDIR\bin;%PATH%" && tessera-cli.exe --help' "$INSTDIR\bin\tessera-cli.exe" 0
!endif
  SetOutPath "$INSTDIR"
SectionEnd

!insertmacro MUI_FUNCTION_DESCRIPTION_BEGIN
  !insertmacro MUI_DESCRIPTION_TEXT ${SecMain} "The Tessera program files and Start menu entry."
  !insertmacro MUI_DESCRIPTION_TEXT ${SecAssoc} "Open SeedVR2 .latent files with Tessera."
  !insertmacro MUI_DESCRIPTION_TEXT ${SecDesktop} "A shortcut on the desktop."
!insertmacro MUI_FUNCTION_DESCRIPTION_END

Function .onInit
  ; /D= sets $INSTDIR before .onInit; MultiUser would overwrite it with the mode's default.
  StrCpy $1 $INSTDIR
  !insertmacro MULTIUSER_INIT
  ${If} $1 != ""
    StrCpy $INSTDIR $1
  ${EndIf}
  ${GetParameters} $R0
  ClearErrors
  ${GetOptions} $R0 "/DesktopShortcut" $R1
  ${IfNot} ${Errors}
    !insertmacro SelectSection ${SecDesktop}
  ${EndIf}
  ClearErrors
  ${GetOptions} $R0 "/NoAssociation" $R1
  ${IfNot} ${Errors}
    !insertmacro UnselectSection ${SecAssoc}
  ${EndIf}
FunctionEnd

Function un.onInit
  !insertmacro MULTIUSER_UNINIT
FunctionEnd

Section "Uninstall"
  !include /CHARSET=UTF8 "${LISTS}\staged-uninstall.nsh"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"

  Delete "${SM_FOLDER}\Tessera.lnk"
  Delete "${SM_FOLDER}\Tessera command line.lnk"
  RMDir "${SM_FOLDER}"
  Delete "$DESKTOP\Tessera.lnk"
  Delete "$DESKTOP\Tessera command line.lnk"

  ; The .latent association: our ProgID, our OpenWithProgids entry, and the default only if it is still ours.
  DeleteRegKey SHCTX "Software\Classes\${PROGID}"
  DeleteRegValue SHCTX "Software\Classes\.latent\OpenWithProgids" "${PROGID}"
  DeleteRegKey /ifempty SHCTX "Software\Classes\.latent\OpenWithProgids"
  ReadRegStr $0 SHCTX "Software\Classes\.latent" ""
  ${If} $0 == "${PROGID}"
    DeleteRegValue SHCTX "Software\Classes\.latent" ""
  ${EndIf}
  DeleteRegKey /ifnosubkeys /ifnovalues SHCTX "Software\Classes\.latent"
  System::Call 'shell32::SHChangeNotify(i 0x08000000, i 0, p 0, p 0)'

  DeleteRegKey SHCTX "${UNINST_KEY}"
  DeleteRegKey SHCTX "${APP_KEY}"
SectionEnd
