#ifndef SHARECAST_TESTPATTERN_CLIP_H
#define SHARECAST_TESTPATTERN_CLIP_H
#include <stddef.h>

/// The built-in test channel's clip: an 8 s MPEG-TS file (H.264), looped by SharecastTS.TestPatternLoop.
const unsigned char *sharecast_testpattern_clip(void);
size_t sharecast_testpattern_clip_length(void);

#endif
