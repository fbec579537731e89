#!/usr/bin/env bash
# Regenerates the fonts embedded in fonts/ from Debian's font packages, subset to the glyphs
# the charsets draw so that the binary stays small (the Nanum fonts are 4 MB each whole).
#
#   apt-get install fonts-dejavu-core fonts-liberation2 fonts-nanum fonts-lato fonts-open-sans \
#     fonts-roboto-unhinted fonts-comic-neue fonts-league-spartan fonts-cantarell fonts-b612 \
#     fonts-clear-sans fonts-roboto-slab fonts-noto-core fonts-jetbrains-mono fonts-firacode \
#     fonts-noto-cjk fonts-nanum-extra fonts-woowa-bm python3-fonttools
#   scripts/make-fonts.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=fonts
subset() { # font-file output-name text-file [fontTools.subset options, e.g. a .ttc's --font-number]
  /usr/bin/python3 -m fontTools.subset "$1" --text-file="$3" --no-hinting \
    --layout-features='' --name-IDs='*' --output-file="$out/$2" "${@:4}"
}
# CFF outlines, which golang/freetype cannot read: subset, then convert.
subset_cff() { subset "$@"; /usr/bin/python3 scripts/otf2ttf.py "$out/$2"; }
latin=$(mktemp); hangul=$(mktemp); trap 'rm -f "$latin" "$hangul"' EXIT
# All of A-Z and 0-9, not only today's alnum charset: a later change to the charset then
# needs no new fonts, and the whole Latin set costs a few kilobytes.
printf 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789' >"$latin"
tr -d '\n' <engine/hangul.txt >"$hangul"

d=/usr/share/fonts/truetype
subset $d/dejavu/DejaVuSans-Bold.ttf           latin-dejavu-sans-bold.ttf   "$latin"
subset $d/dejavu/DejaVuSerif-Bold.ttf          latin-dejavu-serif-bold.ttf  "$latin"
subset $d/liberation2/LiberationSans-Bold.ttf  latin-liberation-sans-bold.ttf "$latin"
subset $d/liberation2/LiberationSerif-Bold.ttf latin-liberation-serif-bold.ttf "$latin"
subset $d/liberation2/LiberationMono-Bold.ttf  latin-liberation-mono-bold.ttf "$latin"
# More shapes of every character make a model trained on samples generalise worse, while a
# person reads each of them at once. (Condensed and narrow faces were tried and dropped:
# their N, M and W were misread.)
subset $d/dejavu/DejaVuSansMono-Bold.ttf       latin-dejavu-sans-mono-bold.ttf "$latin"
subset $d/liberation2/LiberationSans-BoldItalic.ttf latin-liberation-sans-bold-italic.ttf "$latin"
subset $d/liberation2/LiberationSerif-BoldItalic.ttf latin-liberation-serif-bold-italic.ttf "$latin"
# Fonts whose letters are shaped unlike the ones above: a network trained on generated
# challenges has to learn every shape of every character, people read them all alike.
subset $d/lato/Lato-Black.ttf                  latin-lato-black.ttf "$latin"
subset $d/open-sans/OpenSans-ExtraBold.ttf     latin-open-sans-extrabold.ttf "$latin"
subset $d/roboto/unhinted/RobotoCondensed-Bold.ttf latin-roboto-condensed-bold.ttf "$latin"
subset $d/roboto/unhinted/RobotoTTF/Roboto-Black.ttf latin-roboto-black.ttf "$latin"
subset_cff /usr/share/fonts/opentype/comic-neue/ComicNeue-Bold.otf latin-comic-neue-bold.ttf "$latin"
# Each of these is built unlike every font above, heavy enough to survive the warp, and has
# no pair of capitals or digits that its design makes alike (Caladea was dropped: its J
# hangs below the baseline and, warped, read as an f):
# geometric, circles and straight cuts (League Spartan);
subset_cff /usr/share/fonts/opentype/league-spartan/LeagueSpartan-ExtraBold.otf latin-league-spartan-extrabold.ttf "$latin"
# humanist, soft stroke endings (Cantarell);
subset_cff /usr/share/fonts/opentype/cantarell/Cantarell-ExtraBold.otf latin-cantarell-extrabold.ttf "$latin"
# made for reading in aircraft cockpits: open apertures, flat-topped 3 (B612);
subset_cff /usr/share/fonts/opentype/b612/B612-Bold.otf latin-b612-bold.ttf "$latin"
# squarish grotesque (Clear Sans);
subset $d/clear-sans/ClearSans-Bold.ttf       latin-clear-sans-bold.ttf "$latin"
# slab serif (Roboto Slab);
subset_cff /usr/share/fonts/opentype/roboto/slab/RobotoSlab-Bold.otf latin-roboto-slab-bold.ttf "$latin"
# a sturdier serif than Liberation's Times (Noto Serif);
subset $d/noto/NotoSerif-Bold.ttf             latin-noto-serif-bold.ttf "$latin"
# monospaced with squared rounds and with humanist ones (JetBrains Mono, Fira Code).
subset $d/jetbrains-mono/JetBrainsMono-ExtraBold.ttf latin-jetbrains-mono-extrabold.ttf "$latin"
subset $d/firacode/FiraCode-Bold.ttf          latin-fira-code-bold.ttf "$latin"
subset $d/nanum/NanumGothicBold.ttf            hangul-nanum-gothic-bold.ttf "$hangul"
subset $d/nanum/NanumMyeongjoBold.ttf          hangul-nanum-myeongjo-bold.ttf "$hangul"
subset $d/nanum/NanumBarunGothicBold.ttf       hangul-nanum-barun-gothic-bold.ttf "$hangul"
subset $d/nanum/NanumSquareB.ttf               hangul-nanum-square-bold.ttf "$hangul"
# Hangul has fewer free fonts than Latin, and a style draws 2 or 3 of them, so every clean
# bold face with its own construction counts: gothic and myeongjo drawn anew (Noto CJK,
# whose collections hold one face per language, the KR one being number 1), rounded
# (NanumSquareRound), geometric display (BM Dohyeon), tall and rounded (BM Hanna Pro),
# soft like a marker pen yet regular (BM Jua). Tried and dropped: Baekmuk's faces (thin,
# or, Headline, so heavy that its ㅁ and ㅇ fill in), BM Euljiro (jamo drawn too oddly to
# read warped), the Un and Lexi fonts (GPL without a font exception, which would reach
# the binary they are embedded in), Guseul (light, and Artistic-licensed, which wants a
# notice inside every changed file).
subset_cff /usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc hangul-noto-sans-cjk-kr-bold.ttf "$hangul" --font-number=1
subset_cff /usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc hangul-noto-serif-cjk-kr-bold.ttf "$hangul" --font-number=1
subset $d/nanum/NanumSquareRoundEB.ttf         hangul-nanum-square-round-extrabold.ttf "$hangul"
subset $d/woowa-bm/BMDOHYEON_ttf.ttf           hangul-bm-dohyeon.ttf "$hangul"
subset $d/woowa-bm/BMHANNAPro.ttf              hangul-bm-hanna-pro.ttf "$hangul"
subset $d/woowa-bm/BMJUA_ttf.ttf               hangul-bm-jua.ttf "$hangul"

license() { # debian-package name [licence under /usr/share/common-licenses]
  # Debian's copyright file names the licence; where it only points at the text under
  # common-licenses (Apache-2.0 asks that recipients get a copy), the text follows it.
  { cat "/usr/share/doc/$1/copyright"
    [ $# -lt 3 ] || { printf '\n\n'; cat "/usr/share/common-licenses/$3"; }
  } >"$out/LICENSE-$2.txt"
}
license fonts-dejavu-core     dejavu
license fonts-liberation2     liberation
license fonts-nanum           nanum
license fonts-lato            lato
license fonts-open-sans       open-sans    Apache-2.0
license fonts-roboto-unhinted roboto       Apache-2.0
license fonts-comic-neue      comic-neue
license fonts-league-spartan  league-spartan
license fonts-cantarell       cantarell
license fonts-b612            b612
license fonts-clear-sans      clear-sans   Apache-2.0
license fonts-roboto-slab     roboto-slab  Apache-2.0
license fonts-noto-core       noto
license fonts-jetbrains-mono  jetbrains-mono Apache-2.0
license fonts-firacode        fira-code
license fonts-noto-cjk        noto-cjk
license fonts-nanum-extra     nanum-extra
license fonts-woowa-bm        woowa-bm
ls -l $out/*.ttf
