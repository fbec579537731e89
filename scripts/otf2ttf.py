#!/usr/bin/python3
"""Converts an OpenType font with CFF (cubic) outlines to TrueType (quadratic) outlines, in
place: github.com/golang/freetype reads only TrueType outlines. Used by make-fonts.sh on
subsets, which keeps it quick.

  scripts/otf2ttf.py FONT
"""
import sys

from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable


def convert(path):
    # Keeps the source's head.modified, so that make-fonts.sh makes the same bytes each run.
    font = TTFont(path, recalcTimestamp=False)
    if "CFF " not in font:
        return
    order = font.getGlyphOrder()
    glyphs = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyphs)
        # Within one font unit of the cubic curves; CFF contours run the other way round.
        glyphs[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyf[name] = pen.glyph()
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    font["maxp"] = maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for field in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                  "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, field, 0)
    maxp.maxZones = 1
    font["head"].glyphDataFormat = 0
    font["post"].formatType = 2.0
    font["post"].extraNames = []
    font["post"].mapping = {}
    font["post"].glyphOrder = order
    font.sfntVersion = "\x00\x01\x00\x00"
    font.save(path)


if __name__ == "__main__":
    for p in sys.argv[1:]:
        convert(p)
