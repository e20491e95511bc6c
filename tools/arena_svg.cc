#include "tools/arena_svg.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "passes/plan_internal.h"

namespace gptc::tools {
namespace {

using passes::plan::Interval;

// Plot area inside the image: axes on the left and bottom, the title above, the legend of
// the largest buffers on the right.
constexpr double kW = 1400, kH = 800, kLeft = 90, kRight = 1040, kTop = 60, kBottom = 740;

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

std::string Mb(int64_t bytes) { return absl::StrFormat("%.2f MB", bytes / 1e6); }

// About five round tick values in [0, max]: 1, 2 or 5 times a power of ten apart.
std::vector<double> Ticks(double max) {
  const double raw = std::max(max / 5, 1e-9);
  const double p = std::pow(10, std::floor(std::log10(raw)));
  const double step = raw / p < 2 ? 2 * p : raw / p < 5 ? 5 * p : 10 * p;
  std::vector<double> t;
  for (double v = 0; v <= max * 1.0001; v += step) t.push_back(v);
  return t;
}

}  // namespace

absl::Status WriteArenaSvg(const ir::Graph& g, const std::string& path, const std::string& what) {
  const std::vector<Interval> items = passes::plan::ArenaIntervals(g);
  int64_t arena = 1;
  for (const Interval& i : items) arena = std::max(arena, g.value(i.root).place.offset + i.bytes);
  const int64_t steps = std::max(1, g.num_nodes());
  auto end_of = [&](const Interval& i) {
    return i.end == passes::plan::kForever ? steps : i.end + 1;
  };
  // The peak: the node where the most bytes are live.
  std::vector<int64_t> live(steps + 1, 0);  // differences, then their running sum
  for (const Interval& i : items) {
    live[std::max<int64_t>(0, i.begin)] += i.bytes;
    live[end_of(i)] -= i.bytes;
  }
  for (int64_t t = 1; t <= steps; ++t) live[t] += live[t - 1];
  const int64_t peak_at = std::max_element(live.begin(), live.end()) - live.begin();
  // The largest buffers are named, each in its own colour; the rest are grey.
  std::vector<size_t> order(items.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return items[a].bytes > items[b].bytes; });
  const size_t named = std::min<size_t>(12, order.size());
  std::vector<int> colour(items.size(), -1);
  for (size_t k = 0; k < named; ++k) colour[order[k]] = static_cast<int>(k);
  // Twelve distinguishable colours (hex: every SVG renderer reads them).
  static const char* const kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2",
                                         "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                                         "#9c755f", "#17becf", "#bcbd22", "#8c564b"};
  auto hue = [](int k) { return std::string(kPalette[k % 12]); };
  // From the first buffer on (the declarations before it hold no arena memory).
  int64_t first = steps - 1;
  for (const Interval& i : items) first = std::min(first, std::max<int64_t>(0, i.begin));
  auto x_of = [&](double t) { return kLeft + (kRight - kLeft) * (t - first) / (steps - first); };
  auto y_of = [&](double bytes) { return kTop + (kBottom - kTop) * bytes / arena; };

  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
      "fill=\"white\"/>\n",
      kW, kH);
  absl::StrAppend(
      &svg, absl::StrFormat(
                "<text x=\"%.0f\" y=\"24\" font-size=\"16\" font-weight=\"bold\">%s: arena %s, "
                "peak live %s at node %d of %d, %d buffers</text>\n",
                kLeft, Escape(what), Mb(arena), Mb(live[peak_at]), peak_at, steps, items.size()));
  absl::StrAppend(
      &svg,
      absl::StrFormat(
          "<text x=\"%.0f\" y=\"44\" fill=\"#555\">each rectangle: a buffer, from the node that "
          "writes it to its last reader (x), at its offset in the arena (y); hover for its name"
          "</text>\n",
          kLeft));
  for (size_t k = 0; k < items.size(); ++k) {
    const Interval& i = items[k];
    const double x0 = x_of(std::max<int64_t>(0, i.begin)), x1 = x_of(end_of(i));
    const double y0 = y_of(g.value(i.root).place.offset);
    const double y1 = y_of(g.value(i.root).place.offset + i.bytes);
    absl::StrAppend(
        &svg,
        absl::StrFormat(
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
            "stroke=\"#333\" stroke-width=\"0.3\"><title>%%%s: %s, nodes %d to %d</title></rect>\n",
            x0, y0, std::max(0.5, x1 - x0), std::max(0.5, y1 - y0),
            colour[k] >= 0 ? hue(colour[k]) : "#c8c8c8", Escape(g.value(i.root).name), Mb(i.bytes),
            std::max<int64_t>(0, i.begin), end_of(i) - 1));
  }
  // Axes with units, and the peak.
  absl::StrAppend(&svg, absl::StrFormat("<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" "
                                        "height=\"%.0f\" fill=\"none\" stroke=\"black\"/>\n",
                                        kLeft, kTop, kRight - kLeft, kBottom - kTop));
  for (double t : Ticks(static_cast<double>(steps)))
    if (t >= first)
      absl::StrAppend(
          &svg,
          absl::StrFormat("<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"black\"/>"
                          "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%.0f</text>\n",
                          x_of(t), kBottom, x_of(t), kBottom + 5, x_of(t), kBottom + 19, t));
  absl::StrAppend(
      &svg,
      absl::StrFormat(
          "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">execution order (node of the step)"
          "</text>\n",
          (kLeft + kRight) / 2, kBottom + 40));
  for (double b : Ticks(static_cast<double>(arena)))
    absl::StrAppend(
        &svg,
        absl::StrFormat("<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"black\"/>"
                        "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.3g</text>\n",
                        kLeft - 5, y_of(b), kLeft, y_of(b), kLeft - 8, y_of(b) + 4, b / 1e6));
  absl::StrAppend(
      &svg,
      absl::StrFormat(
          "<text transform=\"translate(24,%.0f) rotate(-90)\" text-anchor=\"middle\">arena offset "
          "(MB)</text>\n",
          (kTop + kBottom) / 2));
  absl::StrAppend(
      &svg,
      absl::StrFormat(
          "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"red\" "
          "stroke-dasharray=\"6,4\"/><text x=\"%.1f\" y=\"%.0f\" fill=\"red\">peak %s</text>\n",
          x_of(peak_at + 0.5), kTop, x_of(peak_at + 0.5), kBottom, x_of(peak_at + 0.5) + 4,
          kTop + 14, Mb(live[peak_at])));
  // Legend: the largest buffers by name.
  absl::StrAppend(&svg, absl::StrFormat("<text x=\"%.0f\" y=\"%.0f\" font-weight=\"bold\">"
                                        "largest buffers</text>\n",
                                        kRight + 20, kTop + 10));
  for (size_t k = 0; k < named; ++k) {
    const Interval& i = items[order[k]];
    const double y = kTop + 30 + 20 * k;
    absl::StrAppend(
        &svg, absl::StrFormat("<rect x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                              "<text x=\"%.0f\" y=\"%.0f\">%%%s  %s</text>\n",
                              kRight + 20, y - 10, hue(static_cast<int>(k)), kRight + 38, y,
                              Escape(g.value(i.root).name.substr(0, 34)), Mb(i.bytes)));
  }
  svg += "</svg>\n";
  std::ofstream out(path, std::ios::binary);
  out << svg;
  out.close();
  if (!out) return absl::InvalidArgumentError(absl::StrCat("cannot write --svg file '", path, "'"));
  return absl::OkStatus();
}

}  // namespace gptc::tools
