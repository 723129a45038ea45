// fastjet-ref.cc — the reference the jet tests compare the C shim with: FastJet used directly,
// the way its own example programs do. Reads "px py pz E" lines from argv[1] (FastJet's
// single-event.dat), clusters with argv[2] in {antikt, kt, cam}, R = argv[3], ptmin = argv[4],
// E-scheme, and prints one line per jet by decreasing pt: "pt rap phi E nconst", phi as
// FastJet gives it (in [0, 2 pi)). With a sixth argument GHOST_AREA: active areas with
// explicit ghosts up to |y| = 5, FastJet's default strategy and the shim's fixed ghost seed,
// the area as a sixth column and pure-ghost jets left out.
#include <fastjet/ClusterSequenceArea.hh>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

int
main (int argc, char **argv)
{
  if (argc != 5 && argc != 6)
    {
      std::fprintf (stderr, "usage: fastjet-ref FILE antikt|kt|cam R PTMIN [GHOST_AREA]\n");
      return 2;
    }
  std::ifstream in (argv[1]);
  if (!in)
    {
      std::fprintf (stderr, "fastjet-ref: cannot open %s\n", argv[1]);
      return 1;
    }
  std::vector<fastjet::PseudoJet> particles;
  std::string line;
  while (std::getline (in, line))
    {
      if (line.empty () || line[0] == '#')
        continue;
      std::istringstream ls (line);
      double px, py, pz, e;
      if (ls >> px >> py >> pz >> e)
        particles.emplace_back (px, py, pz, e);
    }
  fastjet::JetAlgorithm alg = !std::strcmp (argv[2], "kt") ? fastjet::kt_algorithm
                              : !std::strcmp (argv[2], "cam") ? fastjet::cambridge_algorithm
                              : fastjet::antikt_algorithm;
  fastjet::JetDefinition def (alg, std::atof (argv[3]), fastjet::E_scheme);
  fastjet::ClusterSequence::set_fastjet_banner_stream (nullptr);
  if (argc == 5)
    {
      fastjet::ClusterSequence cs (particles, def);
      for (const auto &j : fastjet::sorted_by_pt (cs.inclusive_jets (std::atof (argv[4]))))
        std::printf ("%.17g %.17g %.17g %.17g %zu\n", j.pt (), j.rap (), j.phi (), j.e (),
                     j.constituents ().size ());
      return 0;
    }
  fastjet::GhostedAreaSpec spec (5.0, 1, std::atof (argv[5]), fastjet::gas::def_grid_scatter,
                                 fastjet::gas::def_pt_scatter, fastjet::gas::def_mean_ghost_pt,
                                 new fastjet::BasicRandom<double> (12345, 67890));
  spec.set_random_status (std::vector<int> { 12345, 67890 });
  fastjet::ClusterSequenceArea cs (particles, def,
                                   fastjet::AreaDefinition (fastjet::active_area_explicit_ghosts,
                                                            spec));
  for (const auto &j : fastjet::sorted_by_pt (cs.inclusive_jets (std::atof (argv[4]))))
    {
      if (j.is_pure_ghost ())
        continue;
      size_t n = 0;
      for (const auto &c : j.constituents ())
        n += !c.is_pure_ghost ();
      std::printf ("%.17g %.17g %.17g %.17g %zu %.17g\n", j.pt (), j.rap (), j.phi (), j.e (),
                   n, j.area ());
    }
  return 0;
}
