# Throughput against number of workers: bench_app and the unconfirmed hand-written workers, QoS 0
# and 1.
# gnuplot -e "data='throughput.dat'; out='throughput.png'" plot.gp
set terminal pngcairo size 900,540 font ",11"
set output out
set title "RouteMQ end-to-end throughput vs hand-written Paho C (same broker, same run)"
set xlabel "worker processes"
set ylabel "messages per second"
set logscale x 2
set xrange [0.8:10]
set xtics (1, 3, 8)
set yrange [0:*]
set key outside right
set grid
plot data using 1:2 with linespoints lw 2 pt 7 title "RouteMQ QoS 0", \
     data using 1:3 with linespoints lw 2 pt 6 dt 2 title "hand-written QoS 0", \
     data using 1:4 with linespoints lw 2 pt 5 title "RouteMQ QoS 1", \
     data using 1:5 with linespoints lw 2 pt 4 dt 2 title "hand-written QoS 1 (unconfirmed)"
