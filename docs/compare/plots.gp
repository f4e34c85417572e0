# Written by gotit-bench compare; run `gnuplot plots.gp` in this folder.
set datafile missing '?'
set key below
set grid ytics
set linetype 1 lc rgb "#1f77b4" lw 2 pt 1
set linetype 2 lc rgb "#ff7f0e" lw 2 pt 2
set linetype 3 lc rgb "#2ca02c" lw 2 pt 3
set linetype 4 lc rgb "#d62728" lw 2 pt 4
set linetype 5 lc rgb "#9467bd" lw 2 pt 5
set linetype 6 lc rgb "#8c564b" lw 2 pt 6
set linetype 7 lc rgb "#e377c2" lw 2 pt 7
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by -30
set xlabel "server model"
do for [format in "png svg"] {
  if (format eq "png") { set terminal pngcairo size 960,540 noenhanced } else { set terminal svg size 960,540 noenhanced }
  set output sprintf("throughput.%s", format)
  set title "Throughput, closed loop, 50 connections, 0 idle\n2 cores, Linux 6.18.44-fc-v669 x86_64, client and server on the same machine over loopback"
  set ylabel "requests/s"
  plot for [i=2:*] 'plot-data/throughput.dat' using i:xtic(1) title columnhead(i) lc rgb sprintf("#%02x%02x%02x", 40 + 50 * (i - 2), 40 + 50 * (i - 2), 40 + 50 * (i - 2))
  unset output
  unset logscale
}
do for [format in "png svg"] {
  if (format eq "png") { set terminal pngcairo size 960,540 noenhanced } else { set terminal svg size 960,540 noenhanced }
  set output sprintf("cpu_per_request.%s", format)
  set title "Server CPU per request, closed loop, 50 connections, 0 idle\n2 cores, Linux 6.18.44-fc-v669 x86_64, client and server on the same machine over loopback"
  set ylabel "server CPU per request (us)"
  plot for [i=2:*] 'plot-data/cpu_per_request.dat' using i:xtic(1) title columnhead(i) lc rgb sprintf("#%02x%02x%02x", 40 + 50 * (i - 2), 40 + 50 * (i - 2), 40 + 50 * (i - 2))
  unset output
  unset logscale
}
do for [format in "png svg"] {
  if (format eq "png") { set terminal pngcairo size 960,540 noenhanced } else { set terminal svg size 960,540 noenhanced }
  set output sprintf("connections.%s", format)
  set title "Connection rate: connect, one request, reply, close, per client in a loop\n2 cores, Linux 6.18.44-fc-v669 x86_64, client and server on the same machine over loopback"
  set ylabel "connections/s"
  set style fill solid 0.8 border -1
  set boxwidth 0.7
  set yrange [0:*]
  plot 'plot-data/connections.dat' using 0:2:($0+1):xtic(1) with boxes lc variable notitle
  unset output
  unset logscale
}
set style data linespoints
set xtics norotate
set yrange [*:*]
do for [format in "png svg"] {
  if (format eq "png") { set terminal pngcairo size 960,540 noenhanced } else { set terminal svg size 960,540 noenhanced }
  set output sprintf("p99_vs_idle.%s", format)
  set title "p99 latency against idle connections, closed loop, 50 active x depth 1\n2 cores, Linux 6.18.44-fc-v669 x86_64, client and server on the same machine over loopback"
  set ylabel "p99 latency (us, log scale)"
  set logscale y
  set xlabel "idle connections"
  plot for [i=2:8] 'plot-data/p99_vs_idle.dat' using 0:i:xtic(1) title columnhead(i) lt (i-1), NaN title "blocking-iterative (could not be measured: see results.md)" lt 5
  unset output
  unset logscale
}
do for [format in "png svg"] {
  if (format eq "png") { set terminal pngcairo size 960,540 noenhanced } else { set terminal svg size 960,540 noenhanced }
  set output sprintf("memory.%s", format)
  set title "Server memory (RSS) against open connections\n2 cores, Linux 6.18.44-fc-v669 x86_64, client and server on the same machine over loopback"
  set ylabel "RSS (MiB)"
  set xlabel "connections open (idle + active)"
  plot for [i=2:8] 'plot-data/memory.dat' using 0:i:xtic(1) title columnhead(i) lt (i-1)
  unset output
  unset logscale
}
do for [format in "png svg"] {
  if (format eq "png") { set terminal pngcairo size 960,540 noenhanced } else { set terminal svg size 960,540 noenhanced }
  set output sprintf("p99_vs_rate.%s", format)
  set title "p99 latency against offered load, open loop (timed from the schedule)\n2 cores, Linux 6.18.44-fc-v669 x86_64, client and server on the same machine over loopback"
  set ylabel "p99 latency (us, log scale)"
  set logscale xy
  set xlabel "offered load (requests/s, log scale)"
  plot for [i=2:8] 'plot-data/p99_vs_rate.dat' using 1:i title columnhead(i) lt (i-1), NaN title "blocking-iterative (could not be measured: see results.md)" lt 5
  unset output
  unset logscale
}
