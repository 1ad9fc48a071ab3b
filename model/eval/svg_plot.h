// Inline SVG charts for the HTML report (no scripts, no fonts fetched): line charts (one <path>
// per series, optional <circle> markers), categorical scatter plots (one <circle> per point) and
// heatmaps (one <rect> per cell). Each returns one self-contained <svg> element. Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sccello::eval {

// Text escaped for HTML/SVG content and attribute values.
std::string html_escape(const std::string& text);

// The i-th colour of a 20-colour categorical palette (tab20 order); grey past it.
std::string category_colour(size_t i);

struct Series {
  std::string name;
  std::vector<double> x, y;  // non-finite y values are skipped
  bool markers = false;      // circles at the points instead of a line
};

struct ChartOptions {
  int width = 360, height = 220;
  std::string title, x_label;
};

// Series sharing one pair of axes; a legend names them.
std::string svg_line_chart(const std::vector<Series>& series, const ChartOptions& options);

// Points (x_i, y_i) coloured by category[i] (an index into names); legend with the names.
std::string svg_scatter(const std::vector<double>& xy, const std::vector<int32_t>& category,
                        const std::vector<std::string>& names, const ChartOptions& options);

// counts[r * cols + c], shaded by the row fraction, with row and column names.
std::string svg_heatmap(const std::vector<int64_t>& counts, const std::vector<std::string>& rows,
                        const std::vector<std::string>& cols, const ChartOptions& options);

}  // namespace sccello::eval
