"""Transport and structure analysis of MD trajectories: MSD, D, σ, Haven ratio, Arrhenius/VFT,
RDFs and Al–O network statistics. The workflow rules and the ``dpglass`` CLI call these."""

from dpglass.analysis.arrhenius import fit_arrhenius, pool_replicas
from dpglass.analysis.conductivity import analyze_diffusion, analyze_trajectory
from dpglass.analysis.diffusion import estimate_diffusion
from dpglass.analysis.rdf import compute_rdfs
from dpglass.analysis.trajectory import iter_frames, load_species_trajectory
from dpglass.io import write_json

__all__ = ["analyze_diffusion", "analyze_trajectory", "compute_rdfs", "estimate_diffusion",
           "fit_arrhenius", "iter_frames", "load_species_trajectory", "pool_replicas", "write_json"]
