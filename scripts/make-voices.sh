#!/usr/bin/env bash
# Regenerates the voice samples embedded in engine/voices/ from Debian's espeak-ng: every
# character that a charset can hold, spoken alone by several espeak-ng voices, trimmed of
# silence, brought to one loudness and stored as raw 8-bit mu-law at 11025 Hz (the rate of
# the clips, so the engine resamples only to vary tempo and pitch). The output of one
# espeak-ng and sox version is byte-identical from run to run; nothing here is needed to
# build or test. Run it again after changing engine/hangul.txt: the engine refuses to start
# when a character of a charset has no samples (and TestVoicesCoverEveryCharset fails).
#
#   apt-get install espeak-ng sox
#   scripts/make-voices.sh
set -euo pipefail
# Code points and the splitting of engine/hangul.txt into syllables need a UTF-8 locale.
export LC_ALL=C.UTF-8
cd "$(dirname "$0")/.."
out=engine/voices
rate=11025

# Speakers: name, espeak-ng voice+variant, pitch (0-99), speed (words per minute). Single
# characters are spoken a little slower than espeak-ng's 175 wpm so that short consonants
# survive the noise the engine adds. The female variants are ones without espeak-ng's echo
# (f2 to f5 have one), whose tail would double a sample's length and blur the gaps.
en_speakers=(
  "us-m3 en-us+m3 40 150"
  "us-andrea en-us+Andrea 55 145"
  "gb-m1 en-gb+m1 50 145"
  "us-belinda en-us+belinda 50 140"
  "rp-m7 en-gb-x-rp+m7 35 150"
  "us-steph en-us+steph 60 150"
)
ko_speakers=(
  "m1 ko+m1 45 150"
  "andrea ko+Andrea 55 150"
  "m3 ko+m3 35 145"
  "steph ko+steph 60 140"
)

# What each character is spoken as. English: espeak-ng reads a lone letter or digit by its
# name. Korean: Latin letters as Koreans name them, and digits in the clear reading Korean
# radio and army use (하나 둘 ... 아홉, 공), because the plain Sino-Korean 이 (2) sounds
# exactly like the letter E (이), and 일/이 are easily confused in noise. Every character of
# A-Z and 0-9 is made, not only today's alnum charset, so a later change to the charset needs
# no new samples (the extra letters cost little).
en_items() {
  for c in {A..Z} {0..9}; do printf '%s\t%s\n' "$c" "$c"; done
  # The clip opens with this, in the answer's voice: it says what to type and introduces
  # the voice to follow (another voice speaks other characters in between).
  printf 'intro\t%s\n' "Type the characters in this voice."
}
ko_items() {
  local letters=(에이 비 씨 디 이 에프 지 에이치 아이 제이 케이 엘 엠 엔 오 피 큐 알 에스 티 유 브이 더블유 엑스 와이 제트)
  local digits=(공 하나 둘 삼 넷 오 여섯 칠 팔 아홉)
  local i=0
  for c in {A..Z}; do printf '%s\t%s\n' "$c" "${letters[i]}"; i=$((i + 1)); done
  i=0
  for c in {0..9}; do printf '%s\t%s\n' "$c" "${digits[i]}"; i=$((i + 1)); done
  printf 'intro\t%s\n' "이 목소리의 글자를 입력하세요."
  # The hangul charset: each syllable spoken as itself.
  tr -d '\n' <engine/hangul.txt | grep -o . | while read -r s; do printf '%s\t%s\n' "$s" "$s"; done
}

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# speak lang speaker-line items-function: writes $out/lang/name/XXXX.ul, XXXX being the
# character's code point in hex (file names stay ASCII on every file system), and
# intro.ul, the clip's spoken opening.
speak() {
  local lang=$1 name voice pitch speed
  read -r name voice pitch speed <<<"$2"
  local dir=$out/$lang/$name
  rm -rf "$dir"; mkdir -p "$dir"
  "$3" | while IFS=$'\t' read -r char text; do
    local cp; cp=$(printf '%04x' "'$char")
    [ "$char" = intro ] && cp=intro
    espeak-ng -v "$voice" -p "$pitch" -s "$speed" -w "$tmp/s.wav" "$text"
    # Trim silence: from the start down to -54 dB so that soft onsets such as h and f stay,
    # from the end at -40 dB, below which a tail is inaudible under the engine's noise. Then
    # remove rumble, resample with sox's best filter and fade 5 ms so that a trimmed edge
    # does not click. -R and -D (no dither) keep the output repeatable.
    sox -R -D "$tmp/s.wav" -r $rate "$tmp/t.wav" \
      gain -3 silence 1 0.005 0.2% reverse silence 1 0.005 1% reverse \
      highpass 70 rate -v $rate fade 0.005 reverse fade 0.005 reverse
    # Bring every take to the same loudness (RMS -17 dBFS), short of clipping: peak
    # normalisation alone left 13 dB between the quietest and loudest takes, and the quiet
    # ones drowned in the engine's babble.
    local gain; gain=$(sox "$tmp/t.wav" -n stats 2>&1 | awk '
      /^Pk lev dB/ {pk = $4} /^RMS lev dB/ {rms = $4}
      END {g = -17 - rms; c = -1 - pk; printf "%.2f", (g < c ? g : c)}')
    sox -R -D "$tmp/t.wav" -t raw -e u-law -b 8 "$dir/$cp.ul" gain "$gain"
  done
}

for s in "${en_speakers[@]}"; do speak en "$s" en_items; done
for s in "${ko_speakers[@]}"; do speak ko "$s" ko_items; done

cp /usr/share/doc/espeak-ng/copyright $out/LICENSE-espeak-ng.txt
du -sh $out/en $out/ko
