#include "model/eval/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace sccello::eval {
namespace {

constexpr int kLeft = 52, kRight = 10, kTop = 24, kBottom = 34;

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string tick_label(double v) {
  char buf[32];
  const double a = std::fabs(v);
  std::snprintf(buf, sizeof buf, a != 0 && (a < 0.01 || a >= 1e5) ? "%.1e" : a < 10 ? "%.3g" : "%.0f", v);
  return buf;
}

struct Range {
  double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  }
  void settle() {
    if (!std::isfinite(lo)) lo = 0, hi = 1;
    if (hi - lo < 1e-12) lo -= 0.5, hi += 0.5;
  }
  double at(double v, double a, double b) const { return a + (v - lo) / (hi - lo) * (b - a); }
};

void open_svg(std::ostringstream& s, const ChartOptions& o, const char* kind) {
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"" << kind << "\" width=\"" << o.width << "\" height=\""
    << o.height << "\" viewBox=\"0 0 " << o.width << ' ' << o.height << "\" font-family=\"sans-serif\" font-size=\"10\">";
  if (!o.title.empty())
    s << "<text x=\"" << o.width / 2 << "\" y=\"14\" text-anchor=\"middle\" font-size=\"12\">" << html_escape(o.title)
      << "</text>";
}

// Axes box with 5 ticks per axis.
void axes(std::ostringstream& s, const Range& x, const Range& y, const ChartOptions& o) {
  const double x0 = kLeft, x1 = o.width - kRight, y0 = o.height - kBottom, y1 = kTop;
  s << "<rect class=\"frame\" x=\"" << x0 << "\" y=\"" << y1 << "\" width=\"" << x1 - x0 << "\" height=\"" << y0 - y1
    << "\" fill=\"none\" stroke=\"#999\"/>";
  for (int t = 0; t <= 4; ++t) {
    const double xv = x.lo + (x.hi - x.lo) * t / 4, yv = y.lo + (y.hi - y.lo) * t / 4;
    const double px = x.at(xv, x0, x1), py = y.at(yv, y0, y1);
    s << "<text x=\"" << num(px) << "\" y=\"" << y0 + 12 << "\" text-anchor=\"middle\">" << tick_label(xv) << "</text>";
    s << "<text x=\"" << x0 - 4 << "\" y=\"" << num(py + 3) << "\" text-anchor=\"end\">" << tick_label(yv) << "</text>";
  }
  if (!o.x_label.empty())
    s << "<text x=\"" << (x0 + x1) / 2 << "\" y=\"" << o.height - 4 << "\" text-anchor=\"middle\">"
      << html_escape(o.x_label) << "</text>";
}

void legend(std::ostringstream& s, const std::vector<std::string>& names, double x, double y, double max_y) {
  for (size_t i = 0; i < names.size() && y + 12 * i < max_y; ++i) {
    s << "<rect class=\"legend\" x=\"" << num(x) << "\" y=\"" << num(y + 12 * i - 7) << "\" width=\"8\" height=\"8\" fill=\""
      << category_colour(i) << "\"/><text x=\"" << num(x + 11) << "\" y=\"" << num(y + 12 * i) << "\">"
      << html_escape(names[i]) << "</text>";
  }
}

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string category_colour(size_t i) {
  static const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                                   "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
                                   "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5"};
  return i < 20 ? kPalette[i] : "#bbbbbb";
}

std::string svg_line_chart(const std::vector<Series>& series, const ChartOptions& o) {
  Range x, y;
  for (const Series& se : series)
    for (size_t i = 0; i < se.x.size(); ++i)
      if (std::isfinite(se.y[i])) x.add(se.x[i]), y.add(se.y[i]);
  x.settle(), y.settle();
  std::ostringstream s;
  open_svg(s, o, "line-chart");
  axes(s, x, y, o);
  const double x0 = kLeft, x1 = o.width - kRight, y0 = o.height - kBottom, y1 = kTop;
  std::vector<std::string> names;
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& se = series[k];
    names.push_back(se.name);
    std::string d;
    const auto is_finite = [](double v) { return std::isfinite(v); };
    const size_t finite = static_cast<size_t>(std::count_if(se.y.begin(), se.y.end(), is_finite));
    for (size_t i = 0; i < se.x.size(); ++i) {
      if (!std::isfinite(se.y[i])) continue;
      const std::string px = num(x.at(se.x[i], x0, x1)), py = num(y.at(se.y[i], y0, y1));
      if (se.markers || finite == 1)  // a single point is drawn as a dot: a one-point path is invisible
        s << "<circle class=\"marker\" cx=\"" << px << "\" cy=\"" << py << "\" r=\"3\" fill=\"" << category_colour(k)
          << "\"/>";
      else
        d += (d.empty() ? "M" : " L") + px + "," + py;
    }
    if (!d.empty())
      s << "<path class=\"series\" data-name=\"" << html_escape(se.name) << "\" d=\"" << d
        << "\" fill=\"none\" stroke=\"" << category_colour(k) << "\" stroke-width=\"1.5\"/>";
  }
  legend(s, names, x1 - 90, y1 + 10, y0);
  s << "</svg>";
  return s.str();
}

std::string svg_scatter(const std::vector<double>& xy, const std::vector<int32_t>& category,
                        const std::vector<std::string>& names, const ChartOptions& o) {
  Range x, y;
  for (size_t i = 0; i < category.size(); ++i) x.add(xy[2 * i]), y.add(xy[2 * i + 1]);
  x.settle(), y.settle();
  std::ostringstream s;
  open_svg(s, o, "scatter");
  const int legend_width = 170;
  const double x0 = 8, x1 = o.width - legend_width, y0 = o.height - 8, y1 = kTop;
  s << "<rect class=\"frame\" x=\"" << x0 << "\" y=\"" << y1 << "\" width=\"" << x1 - x0 << "\" height=\"" << y0 - y1
    << "\" fill=\"none\" stroke=\"#ddd\"/>";
  for (size_t i = 0; i < category.size(); ++i)
    s << "<circle cx=\"" << num(x.at(xy[2 * i], x0 + 4, x1 - 4)) << "\" cy=\"" << num(y.at(xy[2 * i + 1], y0 - 4, y1 + 4))
      << "\" r=\"2\" fill=\"" << category_colour(static_cast<size_t>(category[i])) << "\"/>";
  legend(s, names, x1 + 8, y1 + 10, y0);
  s << "</svg>";
  return s.str();
}

std::string svg_heatmap(const std::vector<int64_t>& counts, const std::vector<std::string>& rows,
                        const std::vector<std::string>& cols, const ChartOptions& o) {
  const int label_w = 180, label_h = 120, cell = std::max(14, std::min(40, (o.width - label_w) / int(std::max<size_t>(1, cols.size()))));
  ChartOptions sized = o;
  sized.width = label_w + cell * static_cast<int>(cols.size()) + 10;
  sized.height = kTop + label_h + cell * static_cast<int>(rows.size()) + 10;
  std::ostringstream s;
  open_svg(s, sized, "heatmap");
  for (size_t c = 0; c < cols.size(); ++c) {
    const double cx = label_w + cell * (c + 0.5), cy = kTop + label_h - 4;
    s << "<text transform=\"translate(" << num(cx) << "," << num(cy) << ") rotate(-60)\">" << html_escape(cols[c]) << "</text>";
  }
  for (size_t r = 0; r < rows.size(); ++r) {
    int64_t total = 0;
    for (size_t c = 0; c < cols.size(); ++c) total += counts[r * cols.size() + c];
    const double ry = kTop + label_h + cell * static_cast<double>(r);
    s << "<text x=\"" << label_w - 4 << "\" y=\"" << num(ry + cell * 0.65) << "\" text-anchor=\"end\">"
      << html_escape(rows[r]) << "</text>";
    for (size_t c = 0; c < cols.size(); ++c) {
      const int64_t v = counts[r * cols.size() + c];
      const double f = total > 0 ? double(v) / double(total) : 0;
      const int shade = static_cast<int>(255 - 200 * f);
      s << "<rect class=\"cell\" x=\"" << label_w + cell * c << "\" y=\"" << num(ry) << "\" width=\"" << cell
        << "\" height=\"" << cell << "\" fill=\"rgb(" << shade << "," << shade << ",255)\" stroke=\"#fff\"><title>"
        << html_escape(rows[r]) << " -> " << html_escape(cols[c]) << ": " << v << "</title></rect>";
      if (v > 0)
        s << "<text x=\"" << num(label_w + cell * (c + 0.5)) << "\" y=\"" << num(ry + cell * 0.65)
          << "\" text-anchor=\"middle\" font-size=\"9\">" << v << "</text>";
    }
  }
  s << "</svg>";
  return s.str();
}

}  // namespace sccello::eval
