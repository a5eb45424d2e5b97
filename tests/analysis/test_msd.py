import numpy as np

from dpglass.analysis.msd import FFT_ATOM_BATCH, msd_direct, msd_fft


def test_fft_msd_equals_direct_all_origins_per_direction():
    rng = np.random.default_rng(0)
    # More atoms than one FFT batch, anisotropic steps, so batching and directions are exercised.
    positions = np.cumsum(rng.normal(scale=[0.5, 1.0, 2.0], size=(257, FFT_ATOM_BATCH + 7, 3)),
                          axis=0)
    fast = msd_fft(positions)
    assert fast.shape == (257, 3)
    np.testing.assert_allclose(fast, msd_direct(positions), rtol=1e-9, atol=1e-9)
    assert fast[0].max() < 1e-9
    assert fast[50, 2] > fast[50, 1] > fast[50, 0]


def test_single_trajectory_msd_matches_hand_value():
    # x = 0, 1, 3 : lag 1 -> (1 + 4)/2 = 2.5, lag 2 -> 9
    positions = np.zeros((3, 3))
    positions[:, 0] = [0.0, 1.0, 3.0]
    np.testing.assert_allclose(msd_fft(positions)[:, 0], [0.0, 2.5, 9.0], atol=1e-12)
