#include "ir/rng.h"

#include <cmath>
#include <sstream>

namespace gptc {

Rng Rng::ForName(uint64_t seed, std::string_view name) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  uint64_t z = seed + 0x9e3779b97f4a7c15ull * (h | 1);  // splitmix64 finaliser
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return Rng(z ^ (z >> 31));
}

double Rng::Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

double Rng::Normal(double mean, double std) {
  if (has_spare_) {
    has_spare_ = false;
    return mean + std * spare_;
  }
  double u1 = Uniform();
  while (u1 <= 0) u1 = Uniform();
  const double u2 = Uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  spare_ = r * std::sin(2 * M_PI * u2);
  has_spare_ = true;
  return mean + std * r * std::cos(2 * M_PI * u2);
}

uint64_t Rng::UniformInt(uint64_t n) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;  // reject the biased tail
  uint64_t x;
  do {
    x = engine_();
  } while (x >= limit);
  return x % n;
}

std::string Rng::State() const {
  std::ostringstream out;
  out.precision(17);
  out << engine_ << ' ' << has_spare_ << ' ' << spare_;
  return out.str();
}

bool Rng::SetState(const std::string& state) {
  std::istringstream in(state);
  std::mt19937_64 engine;
  bool has_spare = false;
  double spare = 0;
  if (!(in >> engine >> has_spare >> spare)) return false;
  engine_ = engine;
  has_spare_ = has_spare;
  spare_ = spare;
  return true;
}

}  // namespace gptc
