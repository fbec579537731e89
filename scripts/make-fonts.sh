#!/usr/bin/env bash
# Regenerates the fonts embedded in fonts/ from Debian's font packages, subset to the glyphs
# the charsets draw so that the binary stays small (the Nanum fonts are 4 MB each whole).
#
#   apt-get install fonts-dejavu-core fonts-liberation2 fonts-nanum fonts-lato fonts-open-sans \
#     fonts-roboto-unhinted fonts-comic-neue python3-fonttools
#   scripts/make-fonts.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=fonts
subset() { # font-file output-name text-file
  /usr/bin/python3 -m fontTools.subset "$1" --text-file="$3" --no-hinting \
    --layout-features='' --name-IDs='*' --output-file="$out/$2"
}
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
# Comic Neue has CFF outlines, which golang/freetype cannot read: subset, then convert.
subset /usr/share/fonts/opentype/comic-neue/ComicNeue-Bold.otf latin-comic-neue-bold.ttf "$latin"
/usr/bin/python3 scripts/otf2ttf.py $out/latin-comic-neue-bold.ttf
subset $d/nanum/NanumGothicBold.ttf            hangul-nanum-gothic-bold.ttf "$hangul"
subset $d/nanum/NanumMyeongjoBold.ttf          hangul-nanum-myeongjo-bold.ttf "$hangul"
subset $d/nanum/NanumBarunGothicBold.ttf       hangul-nanum-barun-gothic-bold.ttf "$hangul"
subset $d/nanum/NanumSquareB.ttf               hangul-nanum-square-bold.ttf "$hangul"

cp /usr/share/doc/fonts-dejavu-core/copyright   $out/LICENSE-dejavu.txt
cp /usr/share/doc/fonts-liberation2/copyright   $out/LICENSE-liberation.txt
cp /usr/share/doc/fonts-nanum/copyright         $out/LICENSE-nanum.txt
cp /usr/share/doc/fonts-lato/copyright          $out/LICENSE-lato.txt
cp /usr/share/doc/fonts-open-sans/copyright     $out/LICENSE-open-sans.txt
cp /usr/share/doc/fonts-roboto-unhinted/copyright $out/LICENSE-roboto.txt
cp /usr/share/doc/fonts-comic-neue/copyright    $out/LICENSE-comic-neue.txt
ls -l $out/*.ttf
