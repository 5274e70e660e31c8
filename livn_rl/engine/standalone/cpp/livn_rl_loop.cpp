// The closed loop inside a Brian2 C++ standalone program; the protocol is described in
// livn_rl/engine/standalone/process.py, which speaks it from the Python side.
#include "livn_rl_loop.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <poll.h>
#include <sys/mman.h>
#include <unistd.h>

namespace livn_rl {

const double *stimulus_row = nullptr;

namespace {

enum Command : int64_t { ADVANCE = 1, SET = 2, RESET = 3, RESTORE_COPIES = 4, RECORD = 5, STOP = 6 };
const int64_t PROTOCOL = 1;

Binding B;
int command_fd = -1, reply_fd = -1;
pid_t parent = 0;
// the shared memory areas, in the order of the parent's layout
double *payload = nullptr;     // [payload_size] stimulus rows of an advance, or the values of a SET
int64_t *descriptor = nullptr; // [descriptor_size] SET entries, seed words, copy indices, recorded neurons
double *voltage = nullptr;     // [max_rows * max_recorded] recorded membrane potentials (V)
int32_t *spike_i = nullptr;    // [spike_capacity] neuron of each spike of the advance
int32_t *spike_step = nullptr; // [spike_capacity] its time step, counted from the advance's first
int32_t *slots = nullptr;      // [max_rows] payload row of each time step of an advance, -1 for none
int64_t payload_size = 0, descriptor_size = 0, max_rows = 0, spike_capacity = 0, max_recorded = 0;

std::vector<double> zeros;
std::vector< std::vector<char> > built;  // every variable as it was at the first time step
std::vector<int64_t> recorded;           // neurons whose v is recorded
int64_t step_start = 0, step_end = 0, n_spikes = 0;

[[noreturn]] void fail(const char *what) {
    fprintf(stderr, "livn_rl standalone loop: %s\n", what);
    _exit(3);
}

// Wait for a command; exit quietly once the parent is gone (its end of the pipe closed, or it died while a forked
// process still holds that end).
void read_exactly(void *buffer, size_t size) {
    char *p = static_cast<char *>(buffer);
    while (size) {
        struct pollfd waiting = {command_fd, POLLIN, 0};
        int ready = poll(&waiting, 1, 1000);
        if (ready < 0 && errno != EINTR) _exit(0);
        if (ready <= 0) {
            if (getppid() != parent) _exit(0);
            continue;
        }
        ssize_t got = read(command_fd, p, size);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) _exit(0);
        p += got;
        size -= got;
    }
}

void reply(int64_t a, int64_t b = 0, int64_t c = 0) {
    int64_t message[8] = {0, a, b, c, 0, 0, 0, 0};
    const char *p = reinterpret_cast<const char *>(message);
    size_t size = sizeof(message);
    while (size) {
        ssize_t put = write(reply_fd, p, size);
        if (put < 0 && errno == EINTR) continue;
        if (put <= 0) _exit(0);
        p += put;
        size -= put;
    }
}

int64_t setting(const char *name, int index) {
    const char *text = getenv(name);
    if (!text) fail("an environment variable of the protocol is missing (started without livn_rl?)");
    for (int k = 0; k < index; k++) {
        text = strchr(text, ',');
        if (!text) fail("an environment variable of the protocol is too short");
        text++;
    }
    return atoll(text);
}

void start() {
    signal(SIGINT, SIG_IGN);  // Ctrl-C is for the parent, which stops this process
    signal(SIGPIPE, SIG_IGN);
    parent = getppid();
    if (setting("LIVN_RL_PROTOCOL", 0) != PROTOCOL) fail("the parent speaks another protocol version");
    command_fd = (int)setting("LIVN_RL_FDS", 0);
    reply_fd = (int)setting("LIVN_RL_FDS", 1);
    const int memory_fd = (int)setting("LIVN_RL_FDS", 2);
    payload_size = setting("LIVN_RL_LAYOUT", 0);
    descriptor_size = setting("LIVN_RL_LAYOUT", 1);
    max_rows = setting("LIVN_RL_LAYOUT", 2);
    max_recorded = setting("LIVN_RL_LAYOUT", 3);
    spike_capacity = setting("LIVN_RL_LAYOUT", 4);
    const size_t bytes = 8 * (payload_size + descriptor_size + max_rows * max_recorded) + 8 * spike_capacity + 4 * max_rows;
    char *base = static_cast<char *>(mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, memory_fd, 0));
    if (base == MAP_FAILED) fail("cannot map the shared memory");
    payload = reinterpret_cast<double *>(base);
    descriptor = reinterpret_cast<int64_t *>(payload + payload_size);
    voltage = reinterpret_cast<double *>(descriptor + descriptor_size);
    spike_i = reinterpret_cast<int32_t *>(voltage + max_rows * max_recorded);
    spike_step = spike_i + spike_capacity;
    slots = spike_step + spike_capacity;
    bind(B);
    if (B.n_total > spike_capacity / (max_rows > 0 ? max_rows : 1)) fail("the spike area is too small");
    zeros.assign(B.n_total, 0.0);
    stimulus_row = zeros.data();
    built.resize(B.variables.size());
    for (size_t k = 0; k < B.variables.size(); k++) {
        const Variable &v = B.variables[k];
        built[k].assign(v.data, v.data + v.size * v.itemsize);
    }
}

int64_t copy_of(const Variable &v, int64_t element) {
    return (v.owner == 0 ? element : v.pre[element]) / v.per_copy;
}

void reset(int64_t n_words) {
    for (size_t k = 0; k < B.variables.size(); k++)
        memcpy(B.variables[k].data, built[k].data(), built[k].size());
    for (const Queue &q : B.queues)
        for (auto &slot : *q.slots) slot.clear();
    B.spikespace[B.n_total] = 0;
    *B.timestep = 0;
    *B.t = 0.0;
    step_start = step_end = 0;
    std::vector<uint32_t> words(descriptor, descriptor + n_words);
    B.seed(words.data(), (int)words.size());
}

void restore_copies(int64_t n) {
    std::vector<char> chosen(B.n_copies, 0);
    for (int64_t k = 0; k < n; k++) chosen[descriptor[k]] = 1;
    for (size_t k = 0; k < B.variables.size(); k++) {
        const Variable &v = B.variables[k];
        if (v.owner == 2) continue;
        for (int64_t e = 0; e < v.size; e++)
            if (chosen[copy_of(v, e)])
                memcpy(v.data + e * v.itemsize, built[k].data() + e * v.itemsize, v.itemsize);
    }
    for (const Queue &q : B.queues)
        for (auto &slot : *q.slots) {
            size_t kept = 0;
            for (int32_t synapse : slot)
                if (!chosen[q.pre[synapse] / q.per_copy]) slot[kept++] = synapse;
            slot.resize(kept);
        }
}

void set_values(int64_t n_entries) {
    const double *value = payload;
    for (int64_t k = 0; k < n_entries; k++) {
        const Variable &v = B.variables[descriptor[3 * k]];
        const int64_t offset = descriptor[3 * k + 1], count = descriptor[3 * k + 2];
        for (int64_t e = offset; e < offset + count; e++, value++) {
            switch (v.kind) {
            case 0: reinterpret_cast<double *>(v.data)[e] = *value; break;
            case 1: v.data[e] = (char)(*value != 0.0); break;
            case 2: reinterpret_cast<int32_t *>(v.data)[e] = (int32_t)*value; break;
            default: reinterpret_cast<int64_t *>(v.data)[e] = (int64_t)*value; break;
            }
        }
    }
}

// Answer commands until the next ADVANCE.
void serve() {
    int64_t message[8];
    while (true) {
        read_exactly(message, sizeof(message));
        switch (message[0]) {
        case ADVANCE:
            step_start = *B.timestep;
            step_end = step_start + message[1];
            n_spikes = 0;
            return;
        case SET: set_values(message[1]); break;
        case RESET: reset(message[1]); break;
        case RESTORE_COPIES: restore_copies(message[1]); break;
        case RECORD: recorded.assign(descriptor, descriptor + message[1]); break;
        case STOP: _exit(0);
        default: fail("unknown command");
        }
        reply(*B.timestep);
    }
}

}  // namespace

double tick() {
    static bool started = false;
    if (!started) {
        started = true;
        start();
        reply(*B.timestep, PROTOCOL);  // ready
        serve();
    }
    const int64_t step = *B.timestep;
    const int32_t count = B.spikespace[B.n_total];  // the previous time step's spikes
    if (count && step > step_start) {
        const int32_t offset = (int32_t)(step - 1 - step_start);
        for (int32_t k = 0; k < count; k++, n_spikes++) {
            spike_i[n_spikes] = B.spikespace[k];
            spike_step[n_spikes] = offset;
        }
    }
    if (step == step_end) {
        reply(n_spikes, step_end - step_start);
        serve();
    }
    const int64_t row = *B.timestep - step_start;
    if (!recorded.empty()) {
        double *out = voltage + row * (int64_t)recorded.size();
        for (size_t k = 0; k < recorded.size(); k++) out[k] = B.voltage[recorded[k]];
    }
    const int32_t slot = slots[row];
    stimulus_row = slot < 0 ? zeros.data() : payload + (int64_t)slot * B.n_total;
    return 0.0;
}

}  // namespace livn_rl
