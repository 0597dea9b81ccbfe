"""Audio for trigger-word detection: procedural words and noise, clips and labels, spectrograms,
event-level detection counts.

Words and backgrounds are generated (:mod:`dlcourse.audio.synthesis`; real speech with ``espeak-ng``
when it is installed), clips are synthesized and labelled as the course does
(:mod:`dlcourse.audio.clips`), the STFT is ``jax.numpy`` (:mod:`dlcourse.audio.short_time_fourier`), and
a detector is scored per step and per event (:mod:`dlcourse.audio.events`).

Names are imported on first use (:mod:`dlcourse.lazy_imports`).
"""

from dlcourse.lazy_imports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    **dict.fromkeys(["NEGATIVE_WORDS", "POSITIVE_WORD", "SOUND_KINDS", "SOURCES", "WORDS", "Sound",
                     "background_noise", "espeak_available", "procedural_word", "speak", "synthesize_word"],
                    "synthesis"),
    **dict.fromkeys(["ClipSettings", "Clips", "end_step", "insert_ones", "insert_word", "is_overlapping",
                     "random_segment", "synthesize_clip", "synthesize_clips"], "clips"),
    **dict.fromkeys(["frame_count", "hann_window", "spectrogram", "stft"], "short_time_fourier"),
    **dict.fromkeys(["EventCounts", "count_events", "event_summary", "runs_touching"],
                    "events"),
})
