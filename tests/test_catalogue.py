"""Experiments by name: the paper's rows and any other network and recipe in the same grammar."""

import re
from dataclasses import replace

import pytest

from omglib import experiments as X
from omglib.errors import OmgError
from omglib.experiments.catalogue import as_run, parse
from omglib.experiments.pipeline import cnn_run, run_fingerprint
from omglib.experiments.results import run_folder


def test_every_paper_row_is_a_name_of_the_grammar():
    for name, exp in X.EXPERIMENTS.items():
        if not exp.is_probe:
            assert parse(name) == exp and parse(name).name == name


def test_a_name_is_spelled_one_way_and_its_fusions_carry_its_recipe():
    exp = X.get("CNN-1RNN (seq_len=40, no landmarks, Aff-Wild)")
    assert exp.name == "CNN-1RNN-2nd-pool_last-pool_fc (Aff-Wild, no landmarks, seq_len=40)"
    assert (exp.pretrain, exp.landmarks, exp.overrides) == ("affwild", False, ("train.seq_len=40",))
    assert X.get(exp.name) == exp
    assert re.fullmatch(r"cnn-1rnn-2nd-pool-last-pool-fc-aff-wild-no-landmarks-seq-len-40-[0-9a-f]{6}", exp.slug)
    assert X.get(X.BEST_3RNN).slug == "cnn-3rnn-2nd-pool-last-pool-fc"  # the paper's rows keep their folders
    # names that read alike in dashes still have folders of their own
    assert X.get("CNN-3RNN (lr_frozen=1e-16)").slug != X.get("CNN-3RNN (lr_frozen=1e+16)").slug
    weighted = X.get("CNN-3RNN (loss_weights=1,0)")
    assert weighted.settings == ("loss_weights=1.0,0.0",) and X.get(weighted.name) == weighted
    fusion = X.get(f"{X.FUSION_RNN} (from scratch, aggregate=mean)")
    assert fusion.members == (f"{X.BEST_1RNN} (from scratch, aggregate=mean)", f"{X.BEST_3RNN} (from scratch, aggregate=mean)")


@pytest.mark.parametrize("name,message", [
    ("Foo", "unknown network 'Foo'; networks: VGG-Face"),
    ("CNN-3RNN-fc_fc_fc", "CNN-3RNN takes 3 different taps"),
    ("CNN-3RNN (seq_len=forty)", "train.seq_len takes an integer"),
    ("CNN-3RNN (aggregate=max)", "train.aggregate takes one of median, mean"),
    ("CNN-3RNN (landmarks=false)", "unknown setting 'landmarks'"),
    ("CNN-3RNN (seq_len=40", "write NETWORK [(TAG, ..., FIELD=VALUE, ...)]"),
    ("CNN-3RNN (Aff-Wild, from scratch)", "one pre-training tag at most"),
    ("CNN-3RNN (seq_len=40, seq_len=60)", "seq_len is set twice"),
    ("CNN-3RNN (seq_len=40, )", "unknown tag ''"),
    ("CNN-3RNN (bootstrap=10)", "unknown setting 'bootstrap'"),
    ("CNN-3RNN (loss_weights=0,0)", "not both 0"),
])
def test_a_bad_name_says_what_is_valid(name, message):
    with pytest.raises(OmgError, match=re.escape(message)):
        X.get(name)


def test_a_setting_changes_its_own_fingerprint_and_its_cnn_only_if_the_cnn_reads_it(smoke_run):
    ctx, _ = smoke_run
    best = X.get(X.BEST_3RNN)
    longer = X.get(f"{X.BEST_3RNN} (seq_len=8)")
    assert run_fingerprint(ctx, longer, 0, ctx.cnn_seed) != run_fingerprint(ctx, best, 0, ctx.cnn_seed)
    for settings in ((), longer.overrides, ("model.gru_hidden=4",), ("train.loss_weights=1.0,0.0",)):  # the heads'
        # settings (a uni-task network too: its CNN is pre-trained on both dimensions) share the profile's CNN
        assert cnn_run(ctx.with_settings(settings), "vgg16", "affwild2", 0) == cnn_run(ctx, "vgg16", "affwild2", 0)
    own = cnn_run(ctx.with_settings(("train.lr_cnn=0.01",)), "vgg16", "affwild2", 0)
    assert own.folder.path.name == "seed-0" and re.fullmatch(r"vgg-face-affwild2-lr-cnn-0-01-[0-9a-f]{6}",
                                                              own.folder.path.parent.name)
    assert own.fingerprint != cnn_run(ctx, "vgg16", "affwild2", 0).fingerprint


def test_an_experiment_outside_the_catalogue_trains_and_scores_like_a_row(smoke_run):
    ctx, _ = smoke_run
    ctx = replace(ctx, seeds=(0,))
    name = "CNN-3RNN-4th-conv_last-pool_fc (seq_len=8)"
    summary = X.run(ctx, [name])[name]
    result = X.load(ctx, name)
    assert summary.experiment == name and summary.seeds == [0] and result.recipe == X.get(name)
    assert result.config.train.seq_len == 8 and "train.seq_len=8" in result.config.overrides
    assert result.training.cnn == X.load(ctx, X.BEST_3RNN).training.cnn  # the profile's CNN, shared
    assert (ctx.folder / X.get(name).slug / "seed-0" / "model.pt").is_file()
    assert X.status(ctx, X.get(X.BEST_3RNN), 0) == "current"  # the paper's row is untouched
    assert X.status(ctx, X.get(name), 0) == "current"


def test_a_readers_rows_are_each_judged_against_the_papers_best():
    asked = (X.get("CNN-3RNN-4th-conv_last-pool_fc"), X.get(X.BEST_3RNN))
    claims = X.against_best(asked, "Table 5")
    assert [(c.better, c.than, c.source) for c in claims] == [(X.BEST_3RNN, "CNN-3RNN-4th-conv_last-pool_fc", "Table 5")]


def test_the_training_choices_are_the_papers_lengths_at_the_profiles_frame_rate():
    from omglib.config import get_profile
    from omglib.experiments.catalogue import sequence_lengths

    assert sequence_lengths(80) == (40, 60, 80, 100) and sequence_lengths(40) == (20, 30, 40, 50)
    rows, claims = X.training_choices(get_profile("quick").train)
    names = [e.name for e in rows]
    assert names[0] == X.BEST_3RNN and len(names) == len(set(names))
    assert f"{X.BEST_3RNN} (seq_len=20)" in names and not any("strategy" in n for n in names)  # frozen: too dear
    by_claim = {c.claim: c for c in claims}
    assert by_claim["multi-task beats valence-only, on valence"].dimension == "valence"
    assert {n for c in claims for n in (c.better, c.than)} == set(names)  # every row is in a claim
    paper = X.training_choices(get_profile("paper").train)[1]  # end to end there: the other row is frozen, cheap
    assert any(c.than == f"{X.BEST_3RNN} (strategy=frozen)" for c in paper)
    assert any(c.than == f"{X.BEST_3RNN} (lr=0.0001)" for c in paper) and not any("lr=" in n for n in names)


def test_a_profile_runs_a_name_one_way_lr_its_strategys_field_and_its_own_values_left_out():
    from omglib.config import get_profile

    quick, paper = get_profile("quick"), get_profile("paper")
    own_length = X.get(f"{X.BEST_3RNN} (seq_len={quick.train.seq_len})")
    assert as_run(own_length, quick) == X.get(X.BEST_3RNN) and as_run(own_length, paper) == own_length
    assert as_run(X.get(f"{X.FUSION_RNN} (seq_len={quick.train.seq_len})"), quick) == X.get(X.FUSION_RNN)
    lr = X.get(f"{X.BEST_3RNN} (lr=1e-4)")
    assert as_run(lr, quick).settings == ("lr_frozen=0.0001",) and as_run(lr, paper).settings == ("lr_end_to_end=0.0001",)
    assert as_run(X.get("VGG-Face (lr=1e-5)"), paper).settings == ("lr_cnn=1e-05",)  # a frame CNN end to end
    assert as_run(X.get(f"{X.BEST_3RNN} (lr=1e-4, strategy=end-to-end)"), quick).settings == (
        "lr_end_to_end=0.0001", "strategy=end-to-end")  # the strategy it trains with, not the profile's
    fusion = X.get(f"{X.DECISION_FUSION} [{X.BEST_3RNN} (seq_len={quick.train.seq_len}); CNN-1RNN]")
    assert fusion.chosen_members and as_run(fusion, quick) == X.get(X.DECISION_FUSION)  # the recipe's own members
    with pytest.raises(OmgError, match="lr is lr_frozen on the quick profile, which it also sets"):
        as_run(X.get(f"{X.BEST_3RNN} (lr=1e-4, lr_frozen=1e-2)"), quick)


def test_a_setting_equal_to_the_profiles_own_names_the_same_run(smoke_run):
    ctx, _ = smoke_run
    t = ctx.profile.train
    same = X.get(f"{X.BEST_3RNN} (seq_len={t.seq_len}, lr={t.lr_frozen})")
    best = X.get(X.BEST_3RNN)
    assert run_folder(ctx, same, 0) == run_folder(ctx, best, 0)
    assert run_fingerprint(ctx, same, 0, ctx.cnn_seed) == run_fingerprint(ctx, best, 0, ctx.cnn_seed)
    assert X.status(ctx, same, 0) == "current"  # nothing to train: it is the paper's row


def test_a_decision_fusion_of_any_members_is_a_name_and_plans_its_members_first(tmp_path):
    from omglib.config import get_profile
    from omglib.experiments.schedule import plan

    fusion = X.get(f"{X.DECISION_FUSION} [CNN-1RNN; VGG-Face (Aff-Wild)]")
    assert fusion.members == (X.BEST_1RNN, "VGG-Face (Aff-Wild)") and fusion.chosen_members
    assert X.get(fusion.name) == fusion == X.decision_fusion_of(["CNN-1RNN", "VGG-Face (Aff-Wild)"])
    assert X.get(X.DECISION_FUSION).name == X.DECISION_FUSION  # the paper's row keeps its name and folder
    assert fusion.slug != X.get(f"{X.DECISION_FUSION} [CNN-1RNN; VGG-Face]").slug
    ctx = X.Context.create(get_profile("smoke"), tmp_path, tmp_path, "cpu", seeds=(0,), progress=False)
    graph = plan(ctx, [fusion])
    (job,) = [j for j in graph if j.name == fusion.name]
    assert {j.name for j in graph[job]} == set(fusion.members) and graph[job] <= set(graph)  # a member of another recipe
    with pytest.raises(OmgError, match="fuse two or more different trained networks"):
        X.get(f"{X.DECISION_FUSION} [CNN-1RNN]")
