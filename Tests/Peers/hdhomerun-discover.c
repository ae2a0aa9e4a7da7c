/*
 * A real HDHomeRun discovery client, built by the tests against Debian's libhdhomerun-dev
 * (SiliconDust's own library): asks 127.0.0.1 (unicast, so nothing leaves the machine) for
 * tuners and prints what the library made of each reply, one line per device.
 */
#include <stdio.h>
#include <libhdhomerun/hdhomerun.h>

int main(void)
{
	struct hdhomerun_discover_device_v3_t devices[8];
	int count = hdhomerun_discover_find_devices_custom_v3(0x7F000001, HDHOMERUN_DEVICE_TYPE_TUNER, HDHOMERUN_DEVICE_ID_WILDCARD, devices, 8);
	if (count < 0) {
		fprintf(stderr, "discovery failed\n");
		return 1;
	}
	for (int i = 0; i < count; i++) {
		struct hdhomerun_discover_device_v3_t *d = &devices[i];
		printf("id=%08X valid=%d type=%08X tuners=%u base=%s lineup=%s auth=%s\n", (unsigned int)d->device_id,
		       hdhomerun_discover_validate_device_id(d->device_id) ? 1 : 0, (unsigned int)d->device_type,
		       (unsigned int)d->tuner_count, d->base_url, d->lineup_url, d->device_auth);
	}
	return 0;
}
