// A seeded random generator whose streams are identical on every platform and standard
// library: std::mt19937_64's sequence is fixed by the standard, but std::normal_distribution
// and std::uniform_int_distribution are not, so the conversions are written here.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace gptc {

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  // Derives an independent stream from a seed and a name, so that e.g. adding a parameter
  // does not change the initial values of the others.
  static Rng ForName(uint64_t seed, std::string_view name);

  double Uniform();                        // [0, 1)
  double Normal(double mean, double std);  // Box-Muller
  uint64_t UniformInt(uint64_t n);         // [0, n), unbiased

  // The whole state as text (the engine's standard text form and the Box-Muller spare), and
  // back: a resumed run draws exactly the numbers the uninterrupted one would have.
  std::string State() const;
  bool SetState(const std::string& state);

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0;
};

}  // namespace gptc
