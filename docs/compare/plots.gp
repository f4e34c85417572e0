# Written by gotit-bench compare; run `gnuplot plots.gp` in this folder.
set datafile missing '?'
set termoption noenhanced
set key outside right top
set grid ytics
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by -30
do for [format in "png svg"] {
  if (format eq "png") { set terminal pngcairo size 960,540 } else { set terminal svg size 960,540 }
  set output sprintf("throughput.%s", format)
  set title "Throughput, 50 connections, 0 idle"
  set ylabel "requests/s"
  plot for [i=2:*] 'plot-data/throughput.dat' using i:xtic(1) title columnhead(i)
  unset output
}
do for [format in "png svg"] {
  if (format eq "png") { set terminal pngcairo size 960,540 } else { set terminal svg size 960,540 }
  set output sprintf("cpu_per_request.%s", format)
  set title "Server CPU per request, 50 connections, 0 idle"
  set ylabel "CPU us per request"
  plot for [i=2:*] 'plot-data/cpu_per_request.dat' using i:xtic(1) title columnhead(i)
  unset output
}
set style data linespoints
set xtics norotate
do for [format in "png svg"] {
  if (format eq "png") { set terminal pngcairo size 960,540 } else { set terminal svg size 960,540 }
  set output sprintf("p99_vs_idle.%s", format)
  set title "p99 latency against idle connections, 50 active x depth 1"
  set ylabel "p99 latency (us, log scale)"
  set logscale y
  set xlabel "idle connections"
  plot for [i=2:*] 'plot-data/p99_vs_idle.dat' using 0:i:xtic(1) title columnhead(i) lw 2
  unset logscale y
  unset xlabel
  unset output
}
do for [format in "png svg"] {
  if (format eq "png") { set terminal pngcairo size 960,540 } else { set terminal svg size 960,540 }
  set output sprintf("memory.%s", format)
  set title "Server memory (RSS) against open connections"
  set ylabel "RSS (MiB)"
  set xlabel "connections open (idle + active)"
  plot for [i=2:*] 'plot-data/memory.dat' using 0:i:xtic(1) title columnhead(i) lw 2
  unset xlabel
  unset output
}
