from inhouse.advise.tuning import Setting, factor_values, llama_cpp_python_defaults, pick, sweep, turn_seconds, valid


def test_turn_seconds_is_prompt_over_prefill_plus_generated_over_decode():
    assert turn_seconds(1024.0, 32.0) == 2048 / 1024 + 256 / 32
    assert turn_seconds(None, 10.0) is None
    assert turn_seconds(100.0, 0.0) is None


def test_defaults_are_llama_cpp_pythons(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert llama_cpp_python_defaults() == Setting(threads=4, flash_attn=False, cache_type="f16", n_ubatch=512)


def test_quantized_v_needs_flash_attention():
    assert not valid(Setting(2, False, "q8_0", 512))
    assert valid(Setting(2, True, "q8_0", 512)) and valid(Setting(2, False, "f16", 512))


def test_sweep_keeps_the_fastest_setting_that_fits_and_measures_each_once():
    # A made-up machine: 2 threads are faster, flash attention helps, q8_0 helps decode but does not fit.
    def rates(s):
        pre = 1000.0 * (1.8 if s.threads == 2 else 1.0) * (1.1 if s.flash_attn else 1.0)
        dec = 50.0 * (1.5 if s.threads == 2 else 1.0) * (1.3 if s.cache_type == "q8_0" else 1.0)
        return pre, dec

    measured = []

    def measure(s):
        measured.append(s)
        pre, dec = rates(s)
        return pre, dec, s.label()

    def fits(s):
        return s.cache_type == "f16", 100 if s.cache_type == "f16" else 50

    base = Setting(1, False, "f16", 512)
    trials = sweep(base, factor_values(2, quick=True), measure, fits)
    assert len(measured) == len(set(measured))
    best = pick(trials)
    assert best.setting == Setting(2, True, "f16", 512) or best.setting.n_ubatch == 128
    assert best.setting.threads == 2 and best.setting.flash_attn and best.setting.cache_type == "f16"
    # every trial that fits was measured; the one that does not was not
    assert all((t.decode_tps is None) == (not t.fits) for t in trials)
    q8 = [t for t in trials if t.setting.cache_type == "q8_0"]
    assert q8 and not q8[0].fits and q8[0].setting.flash_attn  # forced on: quantized V needs it
    # the chosen trial's figure is the smallest turn time among those that fit, by its own definition
    assert best.turn_s == min(turn_seconds(*rates(t.setting)) for t in trials if t.fits)


def test_pick_returns_none_when_nothing_fits():
    from inhouse.advise.tuning import Trial

    assert pick([Trial(Setting(1, False, "f16", 512), None, None, None, False, 10)]) is None


def test_pick_keeps_the_defaults_unless_the_gain_is_real():
    from inhouse.advise.tuning import MIN_GAIN, Trial

    base = Setting(1, False, "f16", 512)
    other = Setting(2, True, "f16", 512)
    slightly = [Trial(base, 100, 10, 10.0, True, 1), Trial(other, 100, 10, 10.0 * (1 - MIN_GAIN / 2), True, 1)]
    assert pick(slightly, base).setting == base
    assert pick(slightly).setting == other
    clearly = [slightly[0], Trial(other, 100, 10, 10.0 * (1 - 2 * MIN_GAIN), True, 1)]
    assert pick(clearly, base).setting == other
