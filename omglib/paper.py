"""The paper's published names and numbers (Kollias & Zafeiriou, real OMG-Emotion test set).

One home for what the paper prints, depending on nothing: the catalogue's names of its best
networks, Sec. 6.1's training choices, the test CCCs of Tables 3-6 (with post-processing, and Table 3's brackets without
it), Table 7's per-region MSEs and Table 8's challenge entries. `omglib.reporting` puts them
beside the book's numbers and `omglib.experiments.analysis` takes the claims' published
differences from them.
"""

from __future__ import annotations

BEST_1RNN = "CNN-1RNN-2nd-pool_last-pool_fc"
BEST_3RNN = "CNN-3RNN-2nd-pool_last-pool_fc"
DECISION_FUSION = "Decision-Level Fusion"
FUSION_RNN = "Model-level Fusion + RNN"
NETWORK_TABLES = (3, 4, 5, 6)  # the tables whose rows are networks (Tables 7 and 8 read Table 3's)
SEQ_LEN = 80  # Sec. 6.1: frames per sequence at 25 fps, 80 best of 40 to 100
END_TO_END_LRS = (1e-5, 1e-4)  # Sec. 6.1: the CNN-RNNs' learning rates end to end, 1e-5 best

# Test CCC (valence, arousal) with post-processing; keys are the catalogue's experiment names.
CCC: dict[str, tuple[float, float]] = {
    "VGG-Face": (0.378, 0.203), "DenseNet-121": (0.365, 0.191), "ResNet-50": (0.359, 0.195),
    "AffWildNet": (0.409, 0.224), "DenseNet-RNN": (0.394, 0.211), BEST_1RNN: (0.449, 0.303), BEST_3RNN: (0.472, 0.329),
    DECISION_FUSION: (0.501, 0.332), "Model-level Fusion + FC": (0.518, 0.348), FUSION_RNN: (0.535, 0.365),
    f"{BEST_1RNN} (from scratch)": (0.371, 0.210), f"{BEST_1RNN} (Aff-Wild)": (0.419, 0.278),
    f"{BEST_3RNN} (from scratch)": (0.385, 0.192), f"{BEST_3RNN} (Aff-Wild)": (0.448, 0.302),
    f"{FUSION_RNN} (from scratch)": (0.431, 0.265), f"{FUSION_RNN} (Aff-Wild)": (0.511, 0.342),
    "CNN-3RNN-8th-conv_last-pool_fc": (0.416, 0.261), "CNN-3RNN-5th-conv_last-pool_fc": (0.455, 0.322),
    "CNN-3RNN-3rd-conv_7th-conv_fc": (0.402, 0.267), "CNN-3RNN-last-conv_last-pool_fc": (0.440, 0.248),
    "CNN-3RNN-6th-conv_7th-conv_8th-conv": (0.328, 0.162), "CNN-3RNN-7th-conv_8th-conv_9th-conv": (0.334, 0.172),
    "CNN-3RNN-3rd-conv_4th-conv_5th-conv": (0.345, 0.185),
    f"{BEST_1RNN} (no landmarks)": (0.429, 0.291), f"{BEST_3RNN} (no landmarks)": (0.454, 0.310),
    f"{FUSION_RNN} (no landmarks)": (0.524, 0.352),
}
CCC_RAW: dict[str, tuple[float, float]] = {  # Table 3's brackets: without post-processing
    "VGG-Face": (0.361, 0.193), "DenseNet-121": (0.350, 0.184), "ResNet-50": (0.344, 0.189),
    "AffWildNet": (0.390, 0.219), "DenseNet-RNN": (0.378, 0.209), BEST_1RNN: (0.441, 0.297), BEST_3RNN: (0.463, 0.322),
    DECISION_FUSION: (0.482, 0.321), "Model-level Fusion + FC": (0.500, 0.328), FUSION_RNN: (0.512, 0.340),
}
# Table 7 (best CNN-3RNN): MSE of valence, arousal (OMG's [0, 1] arousal scale) per region.
QUADRANT_MSE = {"V>=0,A<0": (0.101, 0.031), "V>=0,A>=0": (0.055, 0.021), "V<0,A<0": (0.154, 0.061),
                "V<0,A>=0": (0.110, 0.040), "all": (0.110, 0.041)}

# Table 8 (test CCC of the challenge entries, as the paper prints them, not as the cited papers
# do): method, modality (as Table 8 writes it), valence, arousal, bibkey in book/references.bib.
# The paper's own two rows are its Table 3 numbers.
CHALLENGE_ENTRIES: tuple[tuple[str, str, float, float, str], ...] = (
    ("VNet", "V,A: visual", 0.438, 0.244, "peng2018deep"),
    ("ANet + VNet", "V,A: audio + visual", 0.442, 0.236, "peng2018deep"),
    ("openSMILE + LSTMs, VGG-FACE-BLSTM", "A: audio, V: visual", 0.258, 0.277, "triantafyllopoulos2018audeering"),
    ("openSMILE + LSTMs, VGG-FACE-BLSTM + openSMILE + LSTMs", "A: audio, V: audio + visual", 0.369, 0.286,
     "triantafyllopoulos2018audeering"),
    ("openSMILE + LSTMs", "V,A: audio", 0.361, 0.293, "triantafyllopoulos2018audeering"),
    ("Single Multi-Modal", "V,A: audio + visual", 0.484, 0.345, "zheng2018multimodal"),
    ("Ensemble I", "V,A: audio + visual", 0.496, 0.356, "zheng2018multimodal"),
    ("Ensemble II", "V,A: audio + visual", 0.499, 0.361, "zheng2018multimodal"),
    *((name, "V,A: visual", *CCC[name], "kollias2020exploiting") for name in (BEST_3RNN, FUSION_RNN)),
)
REFERENCES = {"peng2018deep": "Peng et al. 2018", "triantafyllopoulos2018audeering": "Triantafyllopoulos et al. 2018",
              "zheng2018multimodal": "Zheng et al. 2018", "kollias2020exploiting": "Kollias & Zafeiriou (this paper)"}
